//go:build linux && !race

package server

import (
	"syscall"
	"unsafe"
)

// The read loop's read(2) and the writer's writev(2) act on the
// connection's socket, which Go keeps non-blocking: neither call ever
// waits (a full or empty socket answers EAGAIN at once). So on Linux they
// are made as raw system calls, without telling the scheduler that the
// thread may block (entersyscall/exitsyscall), which is a fixed cost per
// call that a small message pays in full, and which wakes Go's sysmon
// thread whenever the process had gone idle. The price: a garbage
// collection's stop-the-world waits until a call in progress returns,
// which for one non-blocking copy of at most a read buffer (256 KiB), or
// of what fits in the socket's send buffer, is a few tens of
// microseconds. The write loop waits for room in the poller, never in
// the call (writevAll).
//
// Race-detector builds use the annotated calls of the syscall package,
// so that what a socket carries between goroutines of one process still
// orders their memory for the detector.

// readNB reads from the non-blocking descriptor fd into b.
func readNB(fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(p), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// writevNB writes the n iovecs at iov to the non-blocking descriptor fd.
func writevNB(fd uintptr, iov *syscall.Iovec, n int) (uintptr, syscall.Errno) {
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(iov)), uintptr(n))
	return r, e
}
