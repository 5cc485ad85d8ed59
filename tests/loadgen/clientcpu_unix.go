//go:build unix

package main

import (
	"syscall"
	"time"
)

// clientCPU is the CPU time the clients have used so far: the load
// generator's own (its in-process clients) plus that of its children that
// have exited (nats bench). A server child counts only once it is stopped
// and waited for, after its run is measured.
func clientCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}
