//go:build linux

package main

import (
	"os"
	"syscall"
	"unsafe"
)

// cbreak switches the terminal on f to reading single keys without echo
// (canonical mode and echo off, one byte per read), keeping signals, so
// Ctrl-C still interrupts, and output processing. ok is false when f is
// not a terminal; restore puts the terminal back as it was.
func cbreak(f *os.File) (restore func(), ok bool) {
	fd := f.Fd()
	var old syscall.Termios
	if termios(fd, syscall.TCGETS, &old) != nil {
		return nil, false
	}
	t := old
	t.Lflag &^= syscall.ICANON | syscall.ECHO
	t.Cc[syscall.VMIN], t.Cc[syscall.VTIME] = 1, 0
	if termios(fd, syscall.TCSETS, &t) != nil {
		return nil, false
	}
	return func() { termios(fd, syscall.TCSETS, &old) }, true
}

func termios(fd uintptr, req uintptr, t *syscall.Termios) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t))); e != 0 {
		return e
	}
	return nil
}
