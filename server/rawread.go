package server

// A plain TCP connection's read loop reads inside one raw read call of the
// socket: after a read that did not fill the buffer, the socket was drained,
// so the loop parks on the poller at once instead of reading again only to
// get EAGAIN. In a request/reply round trip that is one read system call
// less per hop. A read that filled the buffer reads again at once.
//
// Parsing runs inside the call, so the call ends (and the loop goes on
// outside it) whenever the loop has to wait for something other than the
// socket (a stalled subscriber), stops, or changes goroutine.

// rawReader is a read loop's state inside the raw read call.
type rawReader struct {
	c     *client
	rb    *readBuf
	short int
	n     int   // bytes of the last read
	err   error // the read's error, or nil
	perr  error // the parser's error
	exit  bool  // the loop must go on outside the call
	fn    func(fd uintptr) bool
}

// closeNC closes the connection's socket. Closing a plain TCP socket waits
// until its read loop has left the raw read call, and the caller may be
// that read loop itself (or one that read loop is waiting on), so such a
// socket is closed on a goroutine of its own. The read loop wakes from the
// poller at once either way.
func (c *client) closeNC() {
	if c.raw == nil || !rawReadLoop {
		c.nc.Close()
		return
	}
	go c.nc.Close()
}

// closing reports whether the connection is being closed: its read loop
// then leaves the raw read call, so that the socket's Close can finish.
func (c *client) closing() bool {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	return closed
}
