//go:build !race

// Allocation counts are checked without the race detector, which allocates
// on its own; the plain test run (the README's test command) runs them.

package server

import "testing"

// TestPubRunAllocs: a read buffer of 1 KiB PUBs delivered to one and to
// four subscribers allocates nothing once the queues have grown.
func TestPubRunAllocs(t *testing.T) {
	for _, subs := range []int{1, 4} {
		s := loopServer(t, Options{})
		pub := loopClient(t, s, "")
		cs := make([]*client, subs)
		for i := range cs {
			cs[i] = loopClient(t, s, "")
			send(t, cs[i], "SUB run.x 1\r\n")
		}
		run := pubRun("run.x", 32, 1024)
		step := func() { deliverRun(t, pub, cs, run) }
		step()
		if n := testing.AllocsPerRun(50, step); n != 0 {
			t.Errorf("subs=%d: %v allocations per read buffer, want 0", subs, n)
		}
	}
}
