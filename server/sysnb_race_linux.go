//go:build linux && race

package server

import (
	"syscall"
	"unsafe"
)

// readNB reads from the non-blocking descriptor fd into b (see
// sysnb_linux.go; the race detector's build takes the annotated call).
func readNB(fd int, b []byte) (int, error) { return syscall.Read(fd, b) }

// writevNB writes the n iovecs at iov to the non-blocking descriptor fd.
func writevNB(fd uintptr, iov *syscall.Iovec, n int) (uintptr, syscall.Errno) {
	r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(iov)), uintptr(n))
	return r, e
}
