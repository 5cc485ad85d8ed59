package server

import (
	"net"
	"testing"
	"time"
)

// A spike of connections that then close leads to one release of free
// memory; a steady number of connections to none.
func TestMemoryReleaseAfterConnectionSpike(t *testing.T) {
	s, err := New(Options{Host: "127.0.0.1", Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	releases := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.mem.done
	}
	const n = releaseMinDrop + 100
	peers := make([]net.Conn, 0, n)
	for range n {
		a, b := net.Pipe()
		s.ServeConn(a)
		peers = append(peers, b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.NumClients() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients; want %d", s.NumClients(), n)
		}
		time.Sleep(time.Millisecond)
	}
	if got := releases(); got != 0 {
		t.Fatalf("%d releases while connections only grew; want 0", got)
	}
	for _, p := range peers {
		p.Close()
	}
	for releases() != 1 {
		if time.Now().After(deadline.Add(releaseDelay)) {
			t.Fatalf("%d releases after %d connections closed; want 1", releases(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	peak, pending := s.mem.peak, s.mem.pending
	s.mu.Unlock()
	if pending || peak > releaseMinDrop {
		t.Errorf("after the release: pending %v, peak %d; want the peak reset to what is open", pending, peak)
	}
}
