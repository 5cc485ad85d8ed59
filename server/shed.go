package server

import "time"

// shedSubEvery is the least time between two sheds (see client.shed) that
// SUB and UNSUB ask for. A connection that subscribes and unsubscribes on
// every read (a JetStream Fetch loop makes an inbox per request) would
// otherwise move its read loop to a new goroutine on every read, and the
// new goroutine's stack grows again, copied frame by frame, as soon as
// the next request runs deep.
const shedSubEvery = 250 * time.Millisecond

// shedSub asks for a shed after a SUB or UNSUB: now if the last one is
// shedSubEvery old, else at the end of the first read after that (a
// connection that goes quiet sheds on its next read, its keepalive at
// the latest). Read loop only.
func (c *client) shedSub() {
	if since := time.Since(c.start); c.subShedAt == 0 || since-c.subShedAt >= shedSubEvery {
		c.shed, c.subShedOwed, c.subShedAt = true, false, since
		return
	}
	c.subShedOwed = true
}

// shedOwed asks for the shed a SUB or UNSUB put off, once it is due.
// Read loop only.
func (c *client) shedOwed() {
	if c.subShedOwed && time.Since(c.start)-c.subShedAt >= shedSubEvery {
		c.shedSub()
	}
}
