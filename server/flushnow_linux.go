package server

import (
	"net"
	"syscall"
)

// maxIovecs is the most buffers one writev takes (IOV_MAX).
const maxIovecs = 1024

// writeNow is one connection's non-blocking writev, reused so that it
// allocates nothing per call. The connection's writer role owns it.
type writeNow struct {
	// rest and restChunks are what the socket did not take, for the
	// write loop to write first.
	rest       net.Buffers
	restChunks []*chunk

	iov   []syscall.Iovec
	n     uintptr
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// writev writes bufs with one writev on the raw socket and never waits: it
// returns how much the kernel took, 0 when the socket buffer is full.
func (w *writeNow) writev(rc syscall.RawConn, bufs [][]byte) (int, error) {
	w.iov = w.iov[:0]
	for _, b := range bufs {
		if len(b) > 0 {
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			w.iov = append(w.iov, v)
		}
	}
	if len(w.iov) == 0 {
		return 0, nil
	}
	if w.fn == nil {
		w.fn = w.call
	}
	err := rc.Write(w.fn)
	clear(w.iov)
	if err != nil {
		return 0, err
	}
	switch w.errno {
	case 0:
		return int(w.n), nil
	case syscall.EAGAIN:
		return 0, nil
	default:
		return 0, w.errno
	}
}

func (w *writeNow) call(fd uintptr) bool {
	for {
		w.n, w.errno = writevNB(fd, &w.iov[0], len(w.iov))
		if w.errno != syscall.EINTR {
			return true // done, whatever the kernel took: never wait here
		}
	}
}
