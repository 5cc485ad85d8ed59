package server

import (
	"net"
	"syscall"
	"time"
)

// A read loop that queued messages for a subscriber whose write loop is not
// running writes them itself, when they are few, with one non-blocking
// writev: the kernel takes what fits in the socket buffer and the call
// never waits. Whatever it does not take goes to a write loop as usual.
// Request/reply and other round trips then cost one goroutine hand-off less
// per hop, and a small burst no goroutine start at all. A publisher is
// never held up by a subscriber this way: a full socket buffer only sends
// the rest to the write loop.

// inlineMax is the most a read loop writes for another connection itself;
// larger queues are written by that connection's own write loop, in
// parallel with the reader.
const inlineMax = 32 << 10

// rawConnOf returns the raw socket of a plain TCP connection, nil for any
// other (TLS, pipes, wrapped connections), which always use the write loop.
func rawConnOf(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// signalNow is signal for a read loop's deliveries: it writes a small queue
// at once when no write loop runs, and starts one for whatever is left.
func (c *client) signalNow() {
	if c.raw == nil {
		c.signal()
		return
	}
	if !c.out.writing.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if len(c.out.chunks) == 0 || c.closed || c.out.pb > inlineMax {
		c.mu.Unlock()
		c.srv.wg.Add(1)
		go c.writeLoop()
		return
	}
	chunks := c.out.take()
	c.mu.Unlock()

	bufs := appendBufs(c.out.bufs[:0], chunks)
	// A deadline a write loop set long ago must not fail this write; keep
	// it ahead as the write loop does.
	if wd := c.srv.opts.WriteDeadline; time.Since(c.out.armed) > wd/2 {
		now := time.Now()
		c.nc.SetWriteDeadline(now.Add(wd))
		c.out.armed = now
	}
	w := c.out.writer()
	n, err := w.writev(c.raw, bufs[:min(len(bufs), maxIovecs)])
	if err != nil {
		clear(bufs)
		c.out.bufs = bufs[:0]
		c.doneWriting(chunks)
		c.writeFailed(err) // the loop's role stays taken: no loop starts after this
		return
	}
	if rest := skipWritten(bufs, n); len(rest) > 0 {
		// The socket buffer is full: the write loop finishes the job.
		w.rest, w.restChunks = rest, chunks
		c.out.bufs = nil
		c.srv.wg.Add(1)
		go c.writeLoop()
		return
	}
	clear(bufs)
	c.out.bufs = bufs[:0]
	c.doneWriting(chunks)
	// Something queued or a close meanwhile found the role taken and left
	// it to us.
	c.mu.Lock()
	closed, more := c.closed, len(c.out.chunks) > 0
	c.mu.Unlock()
	switch {
	case closed && !more:
		// What the write loop does last; the role stays taken, so no
		// loop starts after this (nor from a goroutine the server does
		// not wait for, once it is shutting down).
		c.closeNC()
		return
	case more:
		c.srv.wg.Add(1)
		go c.writeLoop()
		return
	}
	c.out.writing.Store(false)
	c.mu.Lock()
	more = len(c.out.chunks) > 0 || c.closed
	c.mu.Unlock()
	if more && c.out.writing.CompareAndSwap(false, true) {
		c.srv.wg.Add(1)
		go c.writeLoop()
	}
}

// skipWritten drops the first n bytes from bufs and returns what is left.
func skipWritten(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
