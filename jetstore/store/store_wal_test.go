package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// lockedBuffer is a bytes.Buffer safe to log into from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func captureLogger() (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

func openTestWAL(t *testing.T, o Options) *walStore {
	t.Helper()
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	s, err := OpenWAL(o)
	if err != nil {
		t.Fatalf("OpenWAL: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*walStore)
}

func appendBatches(t *testing.T, s Store, first uint64, batches, per int) {
	t.Helper()
	for i := range batches {
		if err := s.Append(testMsgs(first+uint64(i*per), per)); err != nil {
			t.Fatalf("Append batch %d: %v", i, err)
		}
	}
}

// segmentPaths returns the segment files of dir, oldest first.
func segmentPaths(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range segs {
		out = append(out, filepath.Join(dir, s.name))
	}
	return out
}

// frameStarts returns the byte offset of each frame in a segment file.
func frameStarts(t *testing.T, data []byte) []int {
	t.Helper()
	var out []int
	for pos := 0; pos < len(data); {
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 {
			t.Fatalf("bad frame at %d", pos)
		}
		out = append(out, pos)
		pos += n + int(size)
	}
	return out
}

func TestWALConcurrentLoads(t *testing.T) {
	s := openTestWAL(t, Options{Dir: t.TempDir(), SegmentSize: 8 << 10, ReadCacheSize: 4 << 10})
	appendBatches(t, s, 1, 50, 10)
	want := testMsgs(1, 3000)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				st := s.State()
				seq := st.FirstSeq + uint64(rng.IntN(int(st.LastSeq-st.FirstSeq+1)))
				m, err := s.Load(seq)
				if errors.Is(err, ErrMsgNotFound) {
					continue // deleted meanwhile
				}
				if err != nil || !sameMsg(m, want[seq-1]) {
					t.Errorf("Load(%d) = %+v, %v", seq, m, err)
					return
				}
				if n%50 == 0 {
					prev := uint64(0)
					err := s.Scan(seq, func(m StoredMsg) bool {
						if m.Seq <= prev || !sameMsg(m, want[m.Seq-1]) {
							t.Errorf("Scan gave %+v after %d", m, prev)
							return false
						}
						prev = m.Seq
						return m.Seq < seq+30
					})
					if err != nil {
						t.Errorf("Scan(%d): %v", seq, err)
						return
					}
				}
			}
		}()
	}
	for seq := uint64(501); seq <= 3000; seq += 10 {
		if err := s.Append(want[seq-1 : seq+9]); err != nil {
			t.Fatal(err)
		}
		if seq%100 == 1 {
			if err := s.Delete(seq-50, seq-49); err != nil {
				t.Fatal(err)
			}
		}
		if seq%500 == 1 {
			if err := s.TruncateFront(seq - 400); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
}

// TestWALSegmentTracking checks that the store knows when tidwall/wal
// starts a segment (and so when to fsync the directory) and which segment
// files exist after truncation.
func TestWALSegmentTracking(t *testing.T) {
	dir := t.TempDir()
	s := openTestWAL(t, Options{Dir: dir, SegmentSize: 700})
	rng := rand.New(rand.NewPCG(3, 3))
	check := func(step int) {
		t.Helper()
		segs, _ := listSegments(dir)
		var starts []uint64
		for _, seg := range segs {
			starts = append(starts, seg.index)
		}
		if !slices.Equal(starts, s.w.segStarts) {
			t.Fatalf("step %d: tracked segments %v; files %v", step, s.w.segStarts, starts)
		}
		fi, _ := os.Stat(filepath.Join(dir, segs[len(segs)-1].name))
		if fi.Size() != s.w.tailBytes {
			t.Fatalf("step %d: tracked tail %d bytes; file has %d", step, s.w.tailBytes, fi.Size())
		}
	}
	for step := range 300 {
		st := s.State()
		switch {
		case step%17 == 16 && st.Msgs > 0:
			if err := s.TruncateFront(st.FirstSeq + uint64(rng.IntN(int(st.Msgs)))); err != nil {
				t.Fatal(err)
			}
		case step%5 == 4 && st.Msgs > 0:
			if err := s.Delete(st.FirstSeq); err != nil {
				t.Fatal(err)
			}
		default:
			ms := testMsgs(st.LastSeq+1, 1+rng.IntN(8))
			ms[0].Data = make([]byte, rng.IntN(900))
			if err := s.Append(ms); err != nil {
				t.Fatal(err)
			}
		}
		check(step)
	}
}

func TestWALCompaction(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, SegmentSize: 1 << 10}
	s := openTestWAL(t, o)
	appendBatches(t, s, 1, 100, 10)
	nseg := len(segmentPaths(t, dir))
	if nseg < 10 {
		t.Fatalf("%d segments; want many", nseg)
	}
	if err := s.TruncateFront(505); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentPaths(t, dir)); n >= nseg*2/3 {
		t.Fatalf("%d segments left of %d after dropping half the stream", n, nseg)
	}
	// Consume from the front one message at a time, as a work queue does.
	for seq := uint64(505); seq <= 900; seq++ {
		if err := s.Delete(seq); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(segmentPaths(t, dir)); n > nseg/4 {
		t.Fatalf("%d segments left of %d after consuming 90%%", n, nseg)
	}
	want := s.State()
	if want.FirstSeq != 901 || want.Msgs != 100 {
		t.Fatalf("state %+v; want 901..1000", want)
	}
	s.Close()
	s = openTestWAL(t, o)
	if got := s.State(); got != want {
		t.Fatalf("state after reopen %+v; want %+v", got, want)
	}
	if _, err := s.Load(900); !errors.Is(err, ErrMsgNotFound) {
		t.Fatalf("Load(900) = %v; want ErrMsgNotFound", err)
	}
	// The index starts at the block holding FirstSeq; the older blocks
	// are forgotten.
	if s.idx.keys[0] != 901 {
		t.Errorf("index starts at key %d; want 901", s.idx.keys[0])
	}
	checkWALInvariants(t, s)
}

func TestWALCompressionRoundTrip(t *testing.T) {
	batch := make([]StoredMsg, 100)
	for i := range batch {
		batch[i] = StoredMsg{Seq: uint64(i + 1), Time: int64(i), Subject: "sensors.plant1.line3.temp",
			Data: []byte(`{"unit":"C","value":21.50,"sensor":"plant1-line3-t"}`)}
	}
	sizes := map[Compression]int64{}
	for _, c := range []Compression{CompressNone, CompressS2} {
		dir := t.TempDir()
		s := openTestWAL(t, Options{Dir: dir, Compression: c})
		if err := s.Append(batch); err != nil {
			t.Fatal(err)
		}
		s.Close()
		fi, _ := os.Stat(segmentPaths(t, dir)[0])
		sizes[c] = fi.Size()

		// Reopen with the other setting, add more, read all back.
		other := CompressS2 - c
		s = openTestWAL(t, Options{Dir: dir, Compression: other})
		more := testMsgs(101, 50)
		if err := s.Append(more); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = openTestWAL(t, Options{Dir: dir, Compression: c})
		for _, m := range append(batch, more...) {
			got, err := s.Load(m.Seq)
			if err != nil || !sameMsg(got, m) {
				t.Fatalf("compression %d: Load(%d) = %+v, %v", c, m.Seq, got, err)
			}
		}
	}
	if sizes[CompressS2]*2 > sizes[CompressNone] {
		t.Errorf("S2 block %d bytes vs %d plain; want less than half", sizes[CompressS2], sizes[CompressNone])
	}
}

func TestWALSyncPolicies(t *testing.T) {
	t.Run("interval", func(t *testing.T) {
		s := openTestWAL(t, Options{Dir: t.TempDir(), Sync: SyncInterval, SyncEvery: 5 * time.Millisecond})
		appendBatches(t, s, 1, 3, 10)
		deadline := time.Now().Add(5 * time.Second)
		for {
			s.wmu.Lock()
			dirty := s.w.dirty
			s.wmu.Unlock()
			if !dirty {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("background fsync never ran")
			}
			time.Sleep(time.Millisecond)
		}
	})
	t.Run("never", func(t *testing.T) {
		dir := t.TempDir()
		s := openTestWAL(t, Options{Dir: dir, Sync: SyncNever})
		appendBatches(t, s, 1, 3, 10)
		if !s.w.dirty {
			t.Fatal("SyncNever fsynced after Append")
		}
		s.Close()
		s = openTestWAL(t, Options{Dir: dir})
		if st := s.State(); st.LastSeq != 30 {
			t.Fatalf("after reopen: %+v", st)
		}
	})
}

func TestWALFailureIsSticky(t *testing.T) {
	s := openTestWAL(t, Options{Dir: t.TempDir()})
	appendBatches(t, s, 1, 1, 10)
	s.log.Close() // the log fails every write from now on
	for range 2 {
		if err := s.Append(testMsgs(11, 1)); !errors.Is(err, ErrFailed) {
			t.Fatalf("Append after a failed write = %v; want ErrFailed", err)
		}
	}
	if err := s.TruncateFront(5); !errors.Is(err, ErrFailed) {
		t.Fatalf("TruncateFront after a failed write = %v; want ErrFailed", err)
	}
	if st := s.State(); st.LastSeq != 10 {
		t.Fatalf("state moved on a failed write: %+v", st)
	}
}

func TestWALOpenOptions(t *testing.T) {
	bad := []Options{
		{},
		{Dir: t.TempDir(), Sync: SyncNever + 1},
		{Dir: t.TempDir(), Compression: 7},
	}
	for _, o := range bad {
		if _, err := OpenWAL(o); err == nil {
			t.Errorf("OpenWAL(%+v) succeeded", o)
		}
	}
	// A nested directory that does not exist yet is created.
	dir := filepath.Join(t.TempDir(), "streams", "orders")
	s := openTestWAL(t, Options{Dir: dir})
	appendBatches(t, s, 1, 1, 1)
}

// checkWALInvariants verifies the in-memory view against itself and the
// log. Caller has the store to itself.
func checkWALInvariants(t *testing.T, s *walStore) {
	t.Helper()
	last, err := s.log.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	if s.idx.next() != last+1 {
		t.Fatalf("index ends at WAL index %d; log at %d", s.idx.next()-1, last)
	}
	if len(s.idx.keys) != len(s.idx.live) {
		t.Fatalf("index has %d keys and %d live counts", len(s.idx.keys), len(s.idx.live))
	}
	if got := s.idx.liveBetween(0, len(s.idx.live)); got != s.st.bytes {
		t.Fatalf("index counts %d live bytes; state %d", got, s.st.bytes)
	}
	for _, r := range s.deleted.rs {
		if r.lo <= s.st.first || r.hi > s.st.last {
			t.Fatalf("hole %d..%d outside (%d, %d]", r.lo, r.hi, s.st.first, s.st.last)
		}
	}
}

// TestWALSmallerSegmentSizeOnReopen: a tail segment already over the new
// SegmentSize makes the next write start a segment first.
func TestWALSmallerSegmentSizeOnReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestWAL(t, Options{Dir: dir})
	appendBatches(t, s, 1, 10, 10)
	s.Close()
	s = openTestWAL(t, Options{Dir: dir, SegmentSize: 256})
	appendBatches(t, s, 101, 1, 1)
	segs, _ := listSegments(dir)
	if len(segs) != 2 || segs[1].index != 11 || !slices.Equal(s.w.segStarts, []uint64{1, 11}) {
		t.Fatalf("segments %v, tracked %v; want a new segment at 11", segs, s.w.segStarts)
	}
	s.Close()
	s = openTestWAL(t, Options{Dir: dir, SegmentSize: 256})
	if st := s.State(); st.LastSeq != 101 || st.Msgs != 101 {
		t.Fatalf("state %+v", st)
	}
}
