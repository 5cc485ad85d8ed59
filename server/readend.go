package server

import "github.com/wrenmq/wren/protocol"

// readEnds are the hooks in-process subscribers asked for while a read
// buffer is parsed (protocol.ReadEnds): the read loop calls each once,
// after the buffer's deliveries are flushed. A stream stores what the
// buffer brought this way, with one fsync, without waking its writer.
// Read loop only.
type readEnds struct {
	on    bool // a read buffer is being parsed by serve
	hooks []protocol.ReadEndHook
}

// AtReadEnd implements protocol.ReadEnds. Only a connection's read loop
// parses with on set; a session or leaf link, whose messages are not
// parsed by serve, says no.
func (c *client) AtReadEnd(h protocol.ReadEndHook) bool {
	rs := c.readState
	if rs == nil || !rs.ends.on {
		return false
	}
	for _, x := range rs.ends.hooks {
		if x == h {
			return true
		}
	}
	rs.ends.hooks = append(rs.ends.hooks, h)
	return true
}

// runReadEnds calls the hooks asked for during the read buffer just
// parsed; drained tells them the read took all the socket held.
func (c *client) runReadEnds(drained bool) {
	e := &c.readState.ends
	for i := 0; i < len(e.hooks); i++ {
		h := e.hooks[i]
		e.hooks[i] = nil
		h.ReadEnd(drained)
	}
	e.hooks = e.hooks[:0]
}
