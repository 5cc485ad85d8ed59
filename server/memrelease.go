package server

import "time"

// Returning memory after a load spike. The Go runtime keeps the memory a
// spike of connections used (their buffers, goroutine stacks, subscriptions)
// and hands it back to the OS only slowly, if at all: after 10,000
// connections closed, the daemon kept all of its ~140 MB peak. A gateway
// that saw one burst should not carry it for days, so once the open
// connections fall to half of the peak since the last release, by at least
// releaseMinDrop, and once a closing connection took at least
// releaseMinSubs subscriptions with it, the server runs
// debug.FreeOSMemory once, releaseDelay later (a burst of closes then costs
// one release). Nothing runs while the load is steady: no goroutine, no
// ticker.
const (
	releaseMinDrop = 1000
	releaseMinSubs = 10_000
	releaseDelay   = 2 * time.Second
)

// memRelease is guarded by Server.mu.
type memRelease struct {
	peak    int  // open socket connections at most since the last release
	pending bool // a release is scheduled
	done    int  // releases so far
}

// noteConns records the open connection count after a change. s.mu is held.
func (s *Server) noteConns() {
	m := &s.mem
	if s.nconns > m.peak {
		m.peak = s.nconns
		return
	}
	if m.peak-s.nconns >= releaseMinDrop && s.nconns <= m.peak/2 {
		s.scheduleRelease()
	}
}

// noteSubsRemoved records that a closing connection took n subscriptions.
func (s *Server) noteSubsRemoved(n int) {
	if n < releaseMinSubs {
		return
	}
	s.mu.Lock()
	s.scheduleRelease()
	s.mu.Unlock()
}

// scheduleRelease arranges one release; s.mu is held.
func (s *Server) scheduleRelease() {
	if s.mem.pending || s.shutdown {
		return
	}
	s.mem.pending = true
	time.AfterFunc(releaseDelay, s.releaseMemory)
}

// releaseMemory returns the heap's free memory to the OS.
func (s *Server) releaseMemory() {
	after := freeOSMemory()
	s.memw.mu.Lock()
	s.memw.base, s.memw.numGC = after.held, after.numGC
	s.memw.mu.Unlock()
	s.mu.Lock()
	s.mem.pending = false
	s.mem.done++
	s.mem.peak = s.nconns
	n := s.nconns
	s.mu.Unlock()
	s.log.Debug("returned free memory to the OS after a load spike", "connections", n)
}
