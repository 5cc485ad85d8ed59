//go:build !linux

package main

import "syscall"

// sysProcAttr leaves process attributes at their defaults off Linux; the
// load generator still stops its children on Ctrl-C.
func sysProcAttr() *syscall.SysProcAttr { return nil }
