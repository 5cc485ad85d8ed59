//go:build !windows

package main

import (
	"os"
	"syscall"
)

// The signals that reopen the log file and start lame-duck mode.
const (
	sigReopen   = syscall.SIGUSR1
	sigLameDuck = syscall.SIGUSR2
)

// platformSignals are caught besides SIGINT, SIGTERM and SIGHUP.
var platformSignals = []os.Signal{sigReopen, sigLameDuck}

func sendSignal(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
