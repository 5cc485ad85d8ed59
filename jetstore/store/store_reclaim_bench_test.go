package store

import (
	"testing"
	"time"
)

// BenchmarkWALAppendWithLimit appends 1 KiB messages in batches of 16 to
// a log that keeps only its newest 4,096, as a stream under max_msgs
// does: every 2 MiB of messages frees a segment to reclaim.
func BenchmarkWALAppendWithLimit(b *testing.B) {
	s, err := OpenWAL(Options{Dir: b.TempDir(), Sync: SyncNever, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const per, keep = 16, 4096
	data := make([]byte, 1024)
	msgs := make([]StoredMsg, per)
	seq := uint64(1)
	b.SetBytes(per * 1024)
	b.ResetTimer()
	for range b.N {
		for i := range msgs {
			msgs[i] = StoredMsg{Seq: seq, Time: time.Now().UnixNano(), Subject: "bench", Data: data}
			seq++
		}
		if err := s.Append(msgs); err != nil {
			b.Fatal(err)
		}
		if seq > keep {
			if err := s.TruncateFront(seq - keep); err != nil {
				b.Fatal(err)
			}
		}
	}
}
