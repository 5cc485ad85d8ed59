package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// openFDs counts the process's open file descriptors, -1 where unknown.
func openFDs() int {
	if runtime.GOOS != "linux" {
		return -1
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// TestWALLogBudget opens many stores under a budget of four open logs,
// writes to and reads from them in turn, concurrently, and checks that no
// more logs (and file descriptors) are open than the budget allows, that
// every message reads back, also after reopening every store, and that
// SyncInterval stores with unsynced writes are left open.
func TestWALLogBudget(t *testing.T) {
	const stores, budget = 12, 4
	SetOpenLogBudget(budget)
	defer SetOpenLogBudget(0)
	base := t.TempDir()
	fds0 := openFDs()
	var ss []Store
	for i := range stores {
		o := Options{Dir: filepath.Join(base, fmt.Sprint(i)), SegmentSize: 1024, Logger: discardLogger()}
		s, err := OpenWAL(o)
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	if n := OpenLogs(); n > budget {
		t.Fatalf("%d logs open after opening %d stores; want at most %d", n, stores, budget)
	}
	var wg sync.WaitGroup
	errs := make(chan error, stores)
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 10 {
				seq := uint64(b*3 + 1)
				if err := s.Append(testMsgs(seq, 3)); err != nil {
					errs <- fmt.Errorf("store %d append %d: %v", i, b, err)
					return
				}
				m, err := s.Load(seq)
				if err != nil || !sameMsg(m, testMsgs(seq, 1)[0]) {
					errs <- fmt.Errorf("store %d load %d: %+v, %v", i, seq, m, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Busy logs may exceed the budget for a moment; once all are idle,
	// one more use brings it back.
	ss[0].Load(1)
	if n := OpenLogs(); n > budget {
		t.Fatalf("%d logs open; want at most %d", n, budget)
	}
	if fds0 >= 0 {
		if n := openFDs() - fds0; n > budget+2 {
			t.Fatalf("%d more file descriptors open with %d stores; want at most %d", n, stores, budget+2)
		}
	}
	for i, s := range ss {
		var n int
		if err := s.Scan(1, func(m StoredMsg) bool {
			if !sameMsg(m, testMsgs(m.Seq, 1)[0]) {
				t.Fatalf("store %d: message %+v", i, m)
			}
			n++
			return true
		}); err != nil || n != 30 {
			t.Fatalf("store %d: scan read %d messages, %v; want 30", i, n, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("store %d close: %v", i, err)
		}
	}
	if n := OpenLogs(); n != 0 {
		t.Fatalf("%d logs open after closing every store", n)
	}
	for i := range stores {
		s, err := OpenWAL(Options{Dir: filepath.Join(base, fmt.Sprint(i)), SegmentSize: 1024, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if st := s.State(); st.Msgs != 30 || st.LastSeq != 30 {
			t.Fatalf("store %d reopened: %+v; want 30 messages", i, st)
		}
		s.Close()
	}

	// A log with writes not yet fsynced stays open.
	iv, err := OpenWAL(Options{Dir: filepath.Join(base, "interval"), Sync: SyncInterval, SyncEvery: 1 << 40, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer iv.Close()
	if err := iv.Append(testMsgs(1, 1)); err != nil {
		t.Fatal(err)
	}
	for i := range budget + 2 {
		s, err := OpenWAL(Options{Dir: filepath.Join(base, "more", fmt.Sprint(i)), Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
	}
	if w := iv.(*walStore); w.log == nil {
		t.Fatal("a log with unsynced writes was parked")
	}
}
