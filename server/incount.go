package server

// foldIn adds the messages and bytes counted since the last call to the
// connection's shared counters. Pub counts in plain fields, and the read
// loop folds them once per read buffer, instead of two atomic additions
// per message; it also folds before a PONG or +OK is queued, so a client
// that sees the reply to what it sent sees it counted in /varz and /connz.
// Read loop only.
func (c *client) foldIn() {
	if c.rdMsgs == 0 {
		return
	}
	c.inMsgs.Add(c.rdMsgs)
	c.inBytes.Add(c.rdBytes)
	c.rdMsgs, c.rdBytes = 0, 0
}
