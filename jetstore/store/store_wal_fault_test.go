package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// errDiskFull is what a write on a full disk returns.
var errDiskFull = &fs.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}

// setFailpoint installs a failpoint on a running store.
func setFailpoint(s *walStore, f func(op string) error) {
	if !SetFailPoint(s, f) {
		panic("a WAL store has a fault point")
	}
}

// retryMsgs are the messages written after a failure, at the sequences the
// failed write had taken, with contents of their own: if the failed write
// survived anywhere, the test sees its messages instead.
func retryMsgs(seq uint64, n int) []StoredMsg {
	ms := testMsgs(seq, n)
	for i := range ms {
		ms[i].Data = append([]byte("retry "), ms[i].Data...)
	}
	return ms
}

// tearTail cuts the newest segment file holding anything in the middle of
// its last frame, as a write that ran out of space part-way leaves it.
func tearTail(t *testing.T, dir string) {
	t.Helper()
	paths := segmentPaths(t, dir)
	for i := len(paths) - 1; i >= 0; i-- {
		data, err := os.ReadFile(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		starts := frameStarts(t, data)
		if len(starts) == 0 {
			continue
		}
		last := starts[len(starts)-1]
		if err := os.Truncate(paths[i], int64(last+(len(data)-last)/2)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no frame to tear in %s", dir)
}

// wantStoreHolds reopens the store in dir and checks that it holds exactly
// msgs.
func wantStoreHolds(t *testing.T, dir string, msgs []StoredMsg) {
	t.Helper()
	s := openTestWAL(t, Options{Dir: dir, SegmentSize: 2048})
	defer s.Close()
	st := s.State()
	if st.Msgs != uint64(len(msgs)) || st.FirstSeq != 1 || st.LastSeq != uint64(len(msgs)) {
		t.Fatalf("reopened store: %+v; want exactly %d messages", st, len(msgs))
	}
	for _, want := range msgs {
		got, err := s.Load(want.Seq)
		if err != nil {
			t.Fatalf("Load(%d) after reopening: %v", want.Seq, err)
		}
		if !sameMsg(got, want) {
			t.Fatalf("Load(%d) after reopening = %q; want %q", want.Seq, got.Data, want.Data)
		}
	}
	checkWALInvariants(t, s)
}

// writeFault is one way a full disk or an I/O error can fail a write.
type writeFault struct {
	name string
	op   string
	// newSegment: fail only a write that started a segment file.
	newSegment bool
	// tear: the failed write left half its last frame.
	tear bool
}

var writeFaults = []writeFault{
	{"write failed after writing it all", "write", false, false},
	{"write torn part-way", "write", false, true},
	{"write that started a segment", "write", true, false},
	{"fsync", "fsync", false, false},
	{"fsync of a write that started a segment", "fsync", true, false},
	{"fsync of the directory for a new segment", "fsync dir", true, false},
}

// failOneWrite appends to a new store in dir until f fails a write, checks
// that the failure is reported and that the store then refuses writes but
// serves reads, and returns the store and the messages it acknowledged
// (sequences 1 to len).
func failOneWrite(t *testing.T, dir string, f writeFault) (*walStore, []StoredMsg) {
	t.Helper()
	s := openTestWAL(t, Options{Dir: dir, SegmentSize: 2048})
	var written []StoredMsg
	for i := range 5 {
		ms := testMsgs(uint64(1+10*i), 10)
		if err := s.Append(ms); err != nil {
			t.Fatal(err)
		}
		written = append(written, ms...)
	}
	segsBefore := len(segmentPaths(t, dir))
	var fired bool
	setFailpoint(s, func(op string) error {
		if fired || op != f.op || (f.newSegment && len(segmentPaths(t, dir)) == segsBefore) {
			return nil
		}
		fired = true
		if f.tear {
			tearTail(t, dir)
		}
		return errDiskFull
	})
	next := uint64(len(written) + 1)
	for !fired {
		if next > 10000 {
			t.Fatal("the failpoint never fired")
		}
		ms := testMsgs(next, 5)
		err := s.Append(ms)
		if fired {
			if !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Append on a full disk = %v; want ErrFailed wrapping ENOSPC", err)
			}
			break
		}
		if err != nil {
			t.Fatalf("Append(%d): %v", next, err)
		}
		written = append(written, ms...)
		next += 5
	}
	setFailpoint(s, nil)
	if st := s.State(); st.LastSeq != next-1 || st.Msgs != next-1 {
		t.Fatalf("state after a failed write: %+v; want last %d", st, next-1)
	}
	if err := s.Append(testMsgs(next, 1)); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append before recovery = %v; want ErrFailed", err)
	}
	for _, seq := range []uint64{1, next - 1} {
		if m, err := s.Load(seq); err != nil || !sameMsg(m, written[seq-1]) {
			t.Fatalf("Load(%d) on a failed store: %v", seq, err)
		}
	}
	return s, written
}

// TestWALRecoversAfterFailedWrite: after each kind of failed write,
// Recover brings the store back with the failed write gone
// (whatever it left in the files), and the log reopens holding exactly
// what was acknowledged.
func TestWALRecoversAfterFailedWrite(t *testing.T) {
	for _, f := range writeFaults {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			s, written := failOneWrite(t, dir, f)
			if err := s.Recover(); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			checkWALInvariants(t, s)
			next := uint64(len(written) + 1)
			ms := retryMsgs(next, 5)
			if err := s.Append(ms); err != nil {
				t.Fatalf("Append after recovery: %v", err)
			}
			written = append(written, ms...)
			appendBatches(t, s, next+5, 20, 5) // across more segments
			written = append(written, testMsgs(next+5, 100)...)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			wantStoreHolds(t, dir, written)
		})
	}
}

// TestWALFailedWriteLeavesNothingBehind: a store that stops after a
// failed write, without recovering, reopens holding exactly what was
// acknowledged: not the failed write, even one whose bytes all reached
// the file before its fsync failed.
func TestWALFailedWriteLeavesNothingBehind(t *testing.T) {
	for _, f := range writeFaults {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			s, written := failOneWrite(t, dir, f)
			s.Close()
			wantStoreHolds(t, dir, written)
		})
	}
}

// TestWALRecoverWhileStillFull: while the disk stays full, recovery
// succeeds (it only cuts and reopens) but the next write fails again, as
// often as it is tried, and nothing of those writes survives.
func TestWALRecoverWhileStillFull(t *testing.T) {
	dir := t.TempDir()
	s := openTestWAL(t, Options{Dir: dir, SegmentSize: 2048})
	written := testMsgs(1, 20)
	if err := s.Append(written); err != nil {
		t.Fatal(err)
	}
	var tears atomic.Int32
	setFailpoint(s, func(op string) error {
		if op != "write" {
			return nil
		}
		if tears.Add(1)%2 == 0 {
			tearTail(t, dir)
		}
		return errDiskFull
	})
	for range 6 {
		if err := s.Append(testMsgs(21, 30)); !errors.Is(err, ErrFailed) {
			t.Fatalf("Append on a full disk = %v; want ErrFailed", err)
		}
		if err := s.Recover(); err != nil {
			t.Fatalf("Recover on a full disk: %v", err)
		}
		checkWALInvariants(t, s)
	}
	setFailpoint(s, nil)
	ms := retryMsgs(21, 30)
	if err := s.Append(ms); err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantStoreHolds(t, dir, append(written, ms...))
}

// TestWALRecoverAfterBackgroundFsync: under SyncInterval a failed
// background fsync fails the store; recovery keeps the writes that
// succeeded before it.
func TestWALRecoverAfterBackgroundFsync(t *testing.T) {
	dir := t.TempDir()
	logger, logs := captureLogger()
	s := openTestWAL(t, Options{Dir: dir, Sync: SyncInterval, SyncEvery: 5 * time.Millisecond, SegmentSize: 2048, Logger: logger})
	setFailpoint(s, func(op string) error {
		if op == "background fsync" {
			return errDiskFull
		}
		return nil
	})
	written := testMsgs(1, 30)
	if err := s.Append(written); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.writableNow() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the background fsync never failed")
		}
		time.Sleep(time.Millisecond)
	}
	setFailpoint(s, nil)
	if err := s.Append(testMsgs(31, 1)); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append after a failed background fsync = %v; want ErrFailed", err)
	}
	if !strings.Contains(logs.String(), "background fsync failed") {
		t.Fatalf("the failed background fsync was not logged:\n%s", logs)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	ms := retryMsgs(31, 10)
	if err := s.Append(ms); err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantStoreHolds(t, dir, append(written, ms...))
}

// TestWALRecoverAfterFailedSegmentReclaim: a failure while reclaiming
// segments below FirstSeq fails the store; recovery reopens the log with
// FirstSeq where the store had it, whether the reclaim cut into an older
// segment or into the newest one (which it renames).
func TestWALRecoverAfterFailedSegmentReclaim(t *testing.T) {
	// 42 batches of 5: segments of four blocks, the newest holding the
	// last two (206..210).
	for _, first := range []uint64{151, 209} {
		t.Run(fmt.Sprint("first ", first), func(t *testing.T) {
			dir := t.TempDir()
			s := openTestWAL(t, Options{Dir: dir, SegmentSize: 1024})
			appendBatches(t, s, 1, 42, 5)
			setFailpoint(s, func(op string) error {
				if op == "truncate log front" {
					return errDiskFull
				}
				return nil
			})
			if err := s.TruncateFront(first); err != nil {
				t.Fatalf("TruncateFront: %v", err)
			}
			setFailpoint(s, nil)
			if err := s.Append(testMsgs(211, 1)); !errors.Is(err, ErrFailed) {
				t.Fatalf("Append after a failed reclaim = %v; want ErrFailed", err)
			}
			if err := s.Recover(); err != nil {
				t.Fatal(err)
			}
			checkWALInvariants(t, s)
			appendBatches(t, s, 211, 2, 5)
			s.Close()
			s = openTestWAL(t, Options{Dir: dir, SegmentSize: 1024})
			if st := s.State(); st.FirstSeq != first || st.LastSeq != 220 || st.Msgs != 221-first {
				t.Fatalf("reopened after a failed reclaim: %+v; want %d..220", st, first)
			}
			for seq := first; seq <= 220; seq++ {
				if _, err := s.Load(seq); err != nil {
					t.Fatalf("Load(%d): %v", seq, err)
				}
			}
		})
	}
}

// TestWALReadsDuringRecovery reads the store from several goroutines while
// writes fail and the store recovers, over and over (run with -race).
func TestWALReadsDuringRecovery(t *testing.T) {
	dir := t.TempDir()
	s := openTestWAL(t, Options{Dir: dir, SegmentSize: 2048})
	written := testMsgs(1, 200)
	for i := 0; i < len(written); i += 10 {
		if err := s.Append(written[i : i+10]); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	readErr := make(chan error, 3)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				seq := uint64(i%len(written)) + 1
				m, err := s.Load(seq)
				if err != nil || !sameMsg(m, written[seq-1]) {
					readErr <- fmt.Errorf("Load(%d) during recovery = %q, %v", seq, m.Data, err)
					return
				}
			}
		}()
	}
	setFailpoint(s, func(op string) error {
		if op == "fsync" {
			return errDiskFull
		}
		return nil
	})
	for range 20 {
		if err := s.Append(testMsgs(201, 3)); !errors.Is(err, ErrFailed) {
			t.Errorf("Append on a full disk = %v; want ErrFailed", err)
			break
		}
		if err := s.Recover(); err != nil {
			t.Errorf("Recover: %v", err)
			break
		}
	}
	close(stop)
	wg.Wait()
	close(readErr)
	for err := range readErr {
		t.Error(err)
	}
}

// writableNow reports what writable says, taking the writers' lock.
func (s *walStore) writableNow() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writable()
}
