package store

import (
	"fmt"
	"testing"
)

// BenchmarkWALOpen measures a restart: opening a stream's WAL that holds
// n messages (reading and checking every block to rebuild the index).
func BenchmarkWALOpen(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("msgs=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			s, err := OpenWAL(Options{Dir: dir, Sync: SyncNever, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			var bytes uint64
			for seq := uint64(1); seq <= uint64(n); seq += 100 {
				msgs := benchMsgs(seq, 100)
				bytes += storedSize(msgs)
				if err := s.Append(msgs); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(bytes))
			b.ReportAllocs()
			for b.Loop() {
				s, err := OpenWAL(Options{Dir: dir, Sync: SyncNever, Logger: discardLogger()})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
