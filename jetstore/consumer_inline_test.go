package jetstore

import (
	"testing"
	"time"
)

// A round runs on a client's read loop only when it cannot fsync: each
// way a round reaches an fsync (an ack confirmation under SyncAlways, the
// sync interval, a compaction, a state rewrite after a failure, a dead
// letter) keeps it on the consumer's goroutine.
func TestRoundMayFsync(t *testing.T) {
	now := time.Now()
	fresh := func(policy SyncPolicy) *consumer {
		return &consumer{log: &stateLog{policy: policy, lastSync: now}}
	}
	plain := []ackReq{{kind: ackAck, sseq: 1}, {kind: ackNext, sseq: 2}, {kind: ackProgress, sseq: 3}}
	for _, tc := range []struct {
		name string
		c    *consumer
		acks []ackReq
		want bool
	}{
		{"acks, state synced just now", fresh(SyncAlways), plain, false},
		{"in memory", &consumer{}, plain, false},
		{"in memory, ack sync", &consumer{}, []ackReq{{kind: ackAck, reply: "_INBOX.x"}}, false},
		{"ack sync under SyncAlways", fresh(SyncAlways), []ackReq{{kind: ackAck, reply: "_INBOX.x"}}, true},
		{"progress sync under SyncAlways", fresh(SyncAlways), []ackReq{{kind: ackProgress, reply: "_INBOX.x"}}, true},
		{"ack sync under SyncInterval", fresh(SyncInterval), []ackReq{{kind: ackAck, reply: "_INBOX.x"}}, false},
		{"nak", fresh(SyncNever), []ackReq{{kind: ackNak}}, true},
		{"term", &consumer{}, []ackReq{{kind: ackTerm}}, true},
		{"sync interval over", &consumer{log: &stateLog{policy: SyncAlways, lastSync: now.Add(-2 * time.Second)}}, nil, true},
		{"sync interval over, SyncNever", &consumer{log: &stateLog{policy: SyncNever, lastSync: now.Add(-time.Hour)}}, nil, false},
		{"state write failed", &consumer{log: &stateLog{policy: SyncNever, lastSync: now}, fault: &stateFault{}}, nil, true},
		{"log near compaction", &consumer{log: &stateLog{policy: SyncNever, lastSync: now, size: compactAt - 1000}}, nil, true},
		{"ack wait over", &consumer{due: deadlineHeap{{at: now.UnixNano() - 1, seq: 1}}}, nil, true},
		{"ack wait ahead", &consumer{due: deadlineHeap{{at: now.UnixNano() + int64(time.Second), seq: 1}}}, nil, false},
	} {
		if got := tc.c.roundMayFsync(tc.acks, now); got != tc.want {
			t.Errorf("%s: roundMayFsync = %v; want %v", tc.name, got, tc.want)
		}
	}
}
