package jetstore

import (
	"fmt"
	"testing"
)

// TestPowerCutSyncNever runs a store under sync = "never", which
// promises nothing of what was answered since the operating system last
// flushed: a stream limited to 3 messages, with segments small enough
// that publishes reclaim some, takes publishes while a consumer acks,
// then is purged and published to again. At every cut, and at every cut
// of the next start's recovery, the store still opens without a panic or
// a hang, sets nothing aside, serves stream S (its configuration was
// durable before) with every message it holds intact and its consumer,
// takes a publish, and leaves tmp/ and trash/ empty.
func TestPowerCutSyncNever(t *testing.T) {
	smallSegments(t, 100)
	dir := t.TempDir()
	seedStreams(t, dir, 2, 0, `{"name":"S","subjects":["s.>"],"max_msgs":3}`)
	cr := runCutsWith(t, dir, cutOpts{sync: SyncNever}, func(e *fuzzEnv, mark func(string)) {
		publishN(t, e, "S", 4, func(int) string { return "s.c" }, func(seq uint64) {
			if seq%2 == 0 {
				pullAck(t, e, "S", "C", 1, 1, nil)
			}
		})
		e.mustOK(t, "STREAM.PURGE.S", `{"keep":1}`)
		publishN(t, e, "S", 1, func(int) string { return "s.d" }, nil)
	}, func(e *fuzzEnv, done map[string]bool) error {
		if err := checkT(e); err != nil {
			return err
		}
		seqs, err := seqsOf(e, "S")
		if err != nil {
			return fmt.Errorf("stream S: %v", err)
		}
		if seqs == nil {
			return fmt.Errorf("stream S is gone")
		}
		for _, seq := range seqs {
			if err := checkMsg(e, "S", seq); err != nil {
				return err
			}
		}
		if _, err := ackFloor(e, "S", "C"); err != nil {
			return err
		}
		return usable(t, e, "S", "s.after")
	})
	cr.log(t)
	if cr.segmentsRemoved("S") == 0 {
		t.Fatal("no segment of S was reclaimed: the test needs compaction")
	}
}
