package server

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// Returning memory after any spike. memrelease.go reacts to connections
// closing in numbers; memory also piles up without a connection closing:
// a burst of messages buffered for a slow reader, a big stream or KV read,
// a burst of API requests. After such a spike the runtime keeps the heap
// it grew to and returns it to the OS only slowly, so this watches the
// heap itself, at the cost of nothing while nothing allocates:
//
//   - The runtime reports each garbage collection, through a finalizer on
//     a sentinel object made afresh after each one: no goroutine of ours.
//     An idle daemon collects once every two minutes (the runtime forces
//     it).
//   - After a collection a check runs memCheckEvery later, and again
//     every memCheckEvery while collections keep coming. It reads the
//     runtime's memory statistics and compares what the heap holds from
//     the OS (spans in use or kept free, and goroutine stacks) with what it
//     held after the last release.
//   - When that grew by memMinSpike and at least doubled, and either an
//     interval passed without a collection (the load stopped) or less
//     than half of it is in use, it runs debug.FreeOSMemory. Then, or when
//     there is nothing to return and no collection came, the checks stop
//     until the next collection.
//
// A heap that is large because its data is live (a big memory stream) is
// released once; after that it is the new mark to double.
const (
	memCheckEvery = 2 * time.Second
	memMinSpike   = 8 << 20
)

// memWatch is the heap watch's state, guarded by its mu.
type memWatch struct {
	mu       sync.Mutex
	on       bool   // started and not stopped
	armed    bool   // a check is scheduled
	numGC    uint32 // collections counted at the last check
	base     uint64 // held after the last release, or the least seen since
	releases int
}

// memSample is what a check reads from the runtime.
type memSample struct {
	numGC       uint32
	held, inUse uint64
}

func readMemSample() memSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{
		numGC: ms.NumGC,
		held:  ms.HeapSys - ms.HeapReleased + ms.StackInuse,
		inUse: ms.HeapInuse + ms.StackInuse,
	}
}

// decide takes a check's sample and reports whether to release memory
// now and whether to check again. w.mu is held.
func (w *memWatch) decide(m memSample) (release, again bool) {
	busy := m.numGC != w.numGC
	w.numGC = m.numGC
	if w.base != 0 && m.held < w.base {
		w.base = m.held
	}
	spike := m.held >= w.base+memMinSpike && m.held >= 2*w.base
	switch {
	case spike && (!busy || m.inUse <= m.held/2):
		return true, false
	case busy:
		return false, true
	}
	return false, false
}

// gcSentinel is the object whose finalizer runs after a collection.
type gcSentinel struct {
	s *Server
	_ [2]uint64 // not a tiny allocation: those share finalizers
}

// watchMemory starts the heap watch. Its first mark is 0: the first heap
// past memMinSpike is released once, and what it holds then is the mark.
// (Reading the runtime's statistics at start would cost the idle daemon
// about 0.3 MB.)
func (s *Server) watchMemory() {
	w := &s.memw
	w.mu.Lock()
	w.on = true
	w.mu.Unlock()
	s.newSentinel()
}

// stopMemoryWatch stops the heap watch: the next collection ends it.
func (s *Server) stopMemoryWatch() {
	w := &s.memw
	w.mu.Lock()
	w.on = false
	w.mu.Unlock()
}

func (s *Server) newSentinel() {
	runtime.SetFinalizer(&gcSentinel{s: s}, func(g *gcSentinel) { g.s.afterGC() })
}

// afterGC runs on the runtime's finalizer goroutine after a collection.
func (s *Server) afterGC() {
	w := &s.memw
	w.mu.Lock()
	if !w.on {
		w.mu.Unlock()
		return
	}
	if !w.armed {
		w.armed = true
		time.AfterFunc(memCheckEvery, s.checkMemory)
	}
	w.mu.Unlock()
	s.newSentinel()
}

// checkMemory is the check after a collection.
func (s *Server) checkMemory() {
	m := readMemSample()
	w := &s.memw
	w.mu.Lock()
	release, again := w.decide(m)
	if !w.on {
		release, again = false, false
	}
	if again {
		time.AfterFunc(memCheckEvery, s.checkMemory)
	} else {
		w.armed = false
	}
	base := w.base
	w.mu.Unlock()
	if !release {
		return
	}
	after := freeOSMemory()
	w.mu.Lock()
	w.base = after.held
	w.numGC = after.numGC
	w.releases++
	w.mu.Unlock()
	s.log.Debug("returned free memory to the OS after a spike",
		"held_mb", m.held>>20, "before_spike_mb", base>>20, "after_mb", after.held>>20)
}

// freeOSMemory returns the heap's free memory to the OS and samples what
// the heap holds then. Twice: the first collection moves what the buffer
// pools hold to their victim caches, the second frees it.
func freeOSMemory() memSample {
	debug.FreeOSMemory()
	debug.FreeOSMemory()
	return readMemSample()
}
