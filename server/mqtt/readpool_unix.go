//go:build unix

package mqtt

import (
	"io"
	"syscall"
)

const canReadRaw = true

var (
	errWouldBlock error = syscall.EAGAIN
	errEOF              = io.EOF
)

// readFD reads from a non-blocking socket, retrying when interrupted.
func readFD(fd uintptr, b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), b)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK {
			return 0, errWouldBlock
		}
		return n, err
	}
}
