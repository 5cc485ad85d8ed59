//go:build unix && !linux

package server

import "syscall"

// readNB reads from the non-blocking descriptor fd into b.
func readNB(fd int, b []byte) (int, error) { return syscall.Read(fd, b) }
