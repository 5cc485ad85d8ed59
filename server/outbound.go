package server

import (
	"errors"
	"net"
	"os"
	"time"
)

// outbound is what waits to be written to a connection. Producers append to
// buf under the client's lock; the write loop swaps buf for spare, writes it
// with no lock held, and keeps it as the next spare. Everything queued
// between two writes goes out in one write call.
type outbound struct {
	buf      []byte
	spare    []byte
	inflight int // bytes being written right now
}

// pending returns the bytes queued or being written. c.mu is held.
func (o *outbound) pending() int { return len(o.buf) + o.inflight }

// maxKeep bounds the buffer a connection keeps between bursts, so an idle
// connection does not pin the memory its busiest moment needed.
const maxKeep = 64 << 10

// signal wakes the write loop; it never blocks.
func (c *client) signal() {
	select {
	case c.flushCh <- struct{}{}:
	default:
	}
}

// writeLoop owns the socket's writes.
func (c *client) writeLoop() {
	defer c.srv.wg.Done()
	wd := c.srv.opts.WriteDeadline
	for range c.flushCh {
		for {
			c.mu.Lock()
			buf := c.out.buf
			if len(buf) == 0 {
				closed := c.closed
				c.mu.Unlock()
				if closed {
					c.nc.Close()
					return
				}
				break
			}
			c.out.buf = c.out.spare[:0]
			c.out.spare = nil
			c.out.inflight = len(buf)
			c.mu.Unlock()

			c.nc.SetWriteDeadline(time.Now().Add(wd))
			_, err := c.nc.Write(buf)

			c.mu.Lock()
			c.out.inflight = 0
			if cap(buf) <= maxKeep {
				c.out.spare = buf[:0]
			}
			c.mu.Unlock()
			if err != nil {
				c.writeFailed(err)
				return
			}
		}
	}
}

// writeFailed closes a connection whose write failed or timed out.
func (c *client) writeFailed(err error) {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		c.mu.Lock()
		name := c.opts.Name
		c.mu.Unlock()
		if c.closeConn(reasonSlowWrite, false) {
			c.srv.stats.slowConsumers.Add(1)
			c.srv.log.Warn("slow consumer: write deadline exceeded, closing", "cid", c.cid, "name", name)
		}
	} else {
		c.closeConn(reasonWriteError, false)
	}
	c.nc.Close()
}
