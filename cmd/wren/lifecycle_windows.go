package main

import (
	"errors"
	"os"
	"syscall"
)

// Windows has no SIGUSR1 or SIGUSR2: these numbers are never delivered
// there, so the log is not reopened and lame-duck mode is not entered by a
// signal; a service stop (SIGTERM) still drains.
const (
	sigReopen   = syscall.Signal(30)
	sigLameDuck = syscall.Signal(31)
)

// platformSignals are caught besides SIGINT, SIGTERM and SIGHUP: none.
var platformSignals []os.Signal

// sendSignal can only kill on Windows.
func sendSignal(pid int, sig syscall.Signal) error {
	if sig != syscall.SIGKILL {
		return errors.New("only kill can be sent on Windows")
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
