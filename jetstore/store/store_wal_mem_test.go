//go:build !race

package store

import (
	"runtime"
	"testing"
)

// A writer holds the newest segment in memory and nothing older: the
// segment it closes is let go, so a stream that is written and not read
// costs one segment of RAM however much it stores. What was written is
// still read back, from the segments on disk.
func TestWALWriterKeepsOneSegment(t *testing.T) {
	const seg = 1 << 20
	s := openTestWAL(t, Options{Dir: t.TempDir(), SegmentSize: seg, Sync: SyncNever})
	payload := make([]byte, 60<<10)
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	const n = 8 * seg / (60 << 10) // 8 segments' worth
	for i := 0; i < n; i++ {
		payload[0] = byte(i)
		if err := s.Append([]StoredMsg{{Seq: uint64(i + 1), Subject: "a", Data: payload}}); err != nil {
			t.Fatal(err)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(base.HeapAlloc)
	t.Logf("%d KiB held after writing %d KiB", held>>10, n*60)
	if held > seg*3/2 {
		t.Errorf("the store holds %d KiB after writing 8 segments of %d KiB; want at most one and a half", held>>10, seg>>10)
	}
	for _, seq := range []uint64{1, n / 2, n} {
		m, err := s.Load(seq)
		if err != nil || len(m.Data) != len(payload) || m.Data[0] != byte(seq-1) {
			t.Fatalf("Load(%d) = %d bytes, first %d, %v", seq, len(m.Data), m.Data[0], err)
		}
	}
}
