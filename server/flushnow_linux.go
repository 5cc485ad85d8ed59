package server

import (
	"io"
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
	// fnWait is callWait, made once.
	fnWait func(fd uintptr) bool
}

// writev writes bufs with one writev on the raw socket and never waits: it
// returns how much the kernel took, 0 when the socket buffer is full.
func (w *writeNow) writev(rc syscall.RawConn, bufs [][]byte) (int, error) {
	if !w.load(bufs) {
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

// writevAll writes bufs whole, as the write loop does: raw non-blocking
// writevs, and while the socket buffer is full a wait in the poller under
// the connection's write deadline. A socket with room costs one system
// call and no scheduler hand-off (see sysnb_linux.go).
func (w *writeNow) writevAll(rc syscall.RawConn, bufs [][]byte) error {
	if w.fnWait == nil {
		w.fnWait = w.callWait
	}
	for w.load(bufs[:min(len(bufs), maxIovecs)]) {
		err := rc.Write(w.fnWait)
		clear(w.iov)
		switch {
		case err != nil:
			return err
		case w.errno != 0:
			return w.errno
		case w.n == 0:
			return io.ErrShortWrite
		}
		bufs = skipWritten(bufs, int(w.n))
	}
	return nil
}

// load sets the iovecs to the non-empty buffers of bufs and reports
// whether there are any.
func (w *writeNow) load(bufs [][]byte) bool {
	w.iov = w.iov[:0]
	for _, b := range bufs {
		if len(b) > 0 {
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			w.iov = append(w.iov, v)
		}
	}
	return len(w.iov) > 0
}

func (w *writeNow) call(fd uintptr) bool {
	w.try(fd)
	return true // done, whatever the kernel took: never wait here
}

// callWait is call for writevAll: a full socket buffer makes the poller
// wait for room and call again.
func (w *writeNow) callWait(fd uintptr) bool {
	w.try(fd)
	return w.errno != syscall.EAGAIN
}

// try makes one non-blocking writev of the iovecs, again if a signal
// interrupted it.
func (w *writeNow) try(fd uintptr) {
	for {
		w.n, w.errno = writevNB(fd, &w.iov[0], len(w.iov))
		if w.errno != syscall.EINTR {
			return
		}
	}
}
