package store

import (
	"fmt"
	"testing"
)

// benchMsgs returns n telemetry-sized messages (about 200 bytes each).
func benchMsgs(seq uint64, n int) []StoredMsg {
	out := make([]StoredMsg, n)
	data := []byte(`{"sensor":"plant1-line3-t","unit":"C","value":21.50,"ts":"2025-01-01T00:00:00Z","fw":"1.4.2","batt":87,"rssi":-61,"seqno":123456,"status":"ok","pad":"xxxxxxxxxxxxxxxxxxxxxxxx"}`)
	for i := range out {
		out[i] = StoredMsg{Seq: seq + uint64(i), Time: int64(seq) + int64(i), Subject: "sensors.plant1.line3.temp", Data: data}
	}
	return out
}

func BenchmarkWALAppend(b *testing.B) {
	for _, batch := range []int{1, 100} {
		for _, c := range []Compression{CompressNone, CompressS2} {
			name := fmt.Sprintf("batch=%d", batch)
			if c == CompressS2 {
				name += "/s2"
			}
			b.Run(name, func(b *testing.B) {
				s, err := OpenWAL(Options{Dir: b.TempDir(), Sync: SyncAlways, Compression: c, Logger: discardLogger()})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				msgs := benchMsgs(1, batch)
				b.SetBytes(int64(storedSize(msgs)))
				b.ReportAllocs()
				seq := uint64(1)
				for b.Loop() {
					for i := range msgs {
						msgs[i].Seq = seq + uint64(i)
					}
					if err := s.Append(msgs); err != nil {
						b.Fatal(err)
					}
					seq += uint64(batch)
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

func BenchmarkWALLoadSequential(b *testing.B) {
	for _, c := range []Compression{CompressNone, CompressS2} {
		name := "plain"
		if c == CompressS2 {
			name = "s2"
		}
		b.Run(name, func(b *testing.B) {
			const total = 100_000
			s, err := OpenWAL(Options{Dir: b.TempDir(), Sync: SyncNever, Compression: c, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for seq := uint64(1); seq <= total; seq += 100 {
				if err := s.Append(benchMsgs(seq, 100)); err != nil {
					b.Fatal(err)
				}
			}
			m, _ := s.Load(1)
			b.SetBytes(int64(m.Size()))
			b.ReportAllocs()
			seq := uint64(0)
			for b.Loop() {
				seq = seq%total + 1
				if _, err := s.Load(seq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMemAppend(b *testing.B) {
	s := NewMemStore()
	msgs := benchMsgs(1, 100)
	b.SetBytes(int64(storedSize(msgs)))
	b.ReportAllocs()
	seq := uint64(1)
	for b.Loop() {
		for i := range msgs {
			msgs[i].Seq = seq + uint64(i)
		}
		if err := s.Append(msgs); err != nil {
			b.Fatal(err)
		}
		seq += 100
		if seq%100_000 == 1 {
			s.TruncateFront(seq)
		}
	}
}
