package server

import (
	"runtime"
	"testing"
	"time"
)

// TestMemWatchDecide walks the heap watch through samples: a heap that
// grew and then saw a quiet interval is released; one still collecting
// is checked again unless most of it is free; one that did not grow by
// memMinSpike and double is left alone; after a release the new mark is
// what the heap held then.
func TestMemWatchDecide(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name             string
		base             uint64
		lastGC           uint32
		sample           memSample
		wrelease, wagain bool
		wbase            uint64
	}{
		{"no mark yet, small heap", 0, 0, memSample{numGC: 1, held: 6 * mb, inUse: 5 * mb}, false, true, 0},
		{"no mark yet, past memMinSpike and quiet", 0, 4, memSample{numGC: 4, held: 20 * mb, inUse: 12 * mb}, true, false, 0},
		{"idle: nothing to do", 8 * mb, 3, memSample{numGC: 3, held: 9 * mb, inUse: 6 * mb}, false, false, 8 * mb},
		{"spike, still collecting", 8 * mb, 3, memSample{numGC: 9, held: 60 * mb, inUse: 50 * mb}, false, true, 8 * mb},
		{"spike, collected, mostly free", 8 * mb, 3, memSample{numGC: 9, held: 60 * mb, inUse: 20 * mb}, true, false, 8 * mb},
		{"spike, then a quiet interval", 8 * mb, 9, memSample{numGC: 9, held: 60 * mb, inUse: 50 * mb}, true, false, 8 * mb},
		{"grew less than memMinSpike", 8 * mb, 9, memSample{numGC: 9, held: 14 * mb, inUse: 5 * mb}, false, false, 8 * mb},
		{"grew by memMinSpike but did not double", 200 * mb, 9, memSample{numGC: 9, held: 300 * mb, inUse: 100 * mb}, false, false, 200 * mb},
		{"held less than the mark lowers it", 30 * mb, 9, memSample{numGC: 9, held: 10 * mb, inUse: 5 * mb}, false, false, 10 * mb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &memWatch{base: tt.base, numGC: tt.lastGC}
			release, again := w.decide(tt.sample)
			if release != tt.wrelease || again != tt.wagain || w.base != tt.wbase {
				t.Errorf("decide(%+v) from mark %d MB = release %v, again %v, mark %d MB; want %v, %v, %d MB",
					tt.sample, tt.base/mb, release, again, w.base/mb, tt.wrelease, tt.wagain, tt.wbase/mb)
			}
		})
	}
}

// TestMemWatchChecksAfterCollections checks the watch's wiring: a started
// server schedules a check after a collection, the check runs, and
// Shutdown turns the watch off.
func TestMemWatchChecksAfterCollections(t *testing.T) {
	s, err := New(Options{Host: "127.0.0.1", Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	state := func() (armed bool, numGC uint32) {
		s.memw.mu.Lock()
		defer s.memw.mu.Unlock()
		return s.memw.armed, s.memw.numGC
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		runtime.GC()
		if armed, _ := state(); armed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no check scheduled after collections")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		if _, n := state(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduled check did not run")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Shutdown(t.Context())
	s.memw.mu.Lock()
	on := s.memw.on
	s.memw.mu.Unlock()
	if on {
		t.Error("the watch is still on after Shutdown")
	}
}
