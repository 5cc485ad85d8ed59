//go:build !race

// Stack sizes are checked without the race detector, which doubles them;
// the plain test run (the README's test command) runs this.

package server

import (
	"fmt"
	"runtime"
	"testing"
)

// CONNECT and SUB run deep calls; the read loop then moves to a fresh
// goroutine, so an idle connection keeps a minimum-size stack.
func TestIdleConnectionsKeepSmallStacks(t *testing.T) {
	s := startFootprintServer(t)
	base := runtime.NumGoroutine()
	before := stackInuse()
	const n = 500
	idleSubscribers(t, s.Addr().String(), n)
	// The last write loops end once their queues are empty.
	waitGoroutines(t, base+n, fmt.Sprintf("%d idle connections", n))
	after := stackInuse()
	per := (int64(after) - int64(before)) / n
	// A minimum stack is 2 KB; a read loop that kept the stack CONNECT
	// grew would cost 4 KB or more.
	if per > 3<<10 {
		t.Errorf("each idle subscribed connection holds %d bytes of stack; want at most %d", per, 3<<10)
	}
	t.Logf("%d bytes of stack per idle connection", per)
}

// stackInuse is the bytes of goroutine stacks in use once garbage
// collections have freed what they can.
func stackInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}
