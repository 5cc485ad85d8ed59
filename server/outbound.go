package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// outbound is what waits to be written to a connection: a list of chunks
// that producers append to under the client's lock. The write loop takes
// the whole list, writes it with one writev and no lock held, and returns
// the chunks to their pools. Nothing queued is ever copied again, however
// far the connection falls behind, and an idle connection holds no buffer.
type outbound struct {
	chunks   []*chunk
	spare    []*chunk
	pb       int // bytes queued in chunks
	inflight int // bytes being written right now
	class    int // size class of the next new chunk
	// stc is closed when the queue drains below stallAt, to
	// release publishers held back by it; nil when nobody waits.
	stc chan struct{}

	// writing is set while a write loop runs. The loop starts when there
	// is something to write and ends when the queue is empty, so an idle
	// connection costs one goroutine, not two. It stays set once the
	// loop has closed the socket, so no loop starts after that.
	writing atomic.Bool
	bufs    [][]byte  // the write loop's writev list, kept between runs
	armed   time.Time // when a write loop last set the write deadline
	// now is the state of writes made at once by a read loop
	// (flushnow.go), made on the first one: an idle connection has none.
	now *writeNow
	// lastPin is the read buffer the queued chunks last took a hold on,
	// pins how many they hold and pinned their bytes (see readbuf.go).
	lastPin *readBuf
	pins    int
	pinned  int
}

// stallMax bounds how long a publisher's read loop waits, per read buffer,
// for a subscriber that is more than stallAt behind. The wait
// turns into TCP backpressure on a publisher that outruns its readers; it
// is bounded, so a subscriber that stays behind cannot hold a publisher
// back for long: it is cut as a slow consumer at max_pending.
const stallMax = 10 * time.Millisecond

// stallBytes is how far behind a subscriber may fall before its publishers
// are held back (half of max_pending when that is less). With the socket's
// own buffer behind it, 1 MiB keeps a loopback or LAN pipe full: measured
// against 4 MiB, the rate and CPU per message of 16 B and 1 KiB pub->sub
// and fan-out stayed the same while the peak heap fell by 3-4 MB per
// subscriber that falls behind. Against 8 MiB (9 rounds, same run) the
// rate was 0.99-1.04x and the CPU per message 1.01-1.03 at 1 KiB, while
// the server's schedule-ins at 1 pub -> 1 sub fell by about 40% and its
// peak RSS doubled. Buffering more only holds memory, on every subscriber
// of a fan-out at once.
const stallBytes = 1 << 20

func stallAt(maxPending int64) int64 { return min(maxPending/2, stallBytes) }

// releaseStalled frees publishers waiting on this queue. c.mu is held.
func (o *outbound) releaseStalled() {
	if o.stc != nil {
		close(o.stc)
		o.stc = nil
	}
}

// waitStalled holds the read loop back until the subscriber that stalled
// the last read buffer catches up, or stallMax passes.
func (c *client) waitStalled() {
	ch := c.pc.stall
	c.pc.stall = nil
	if c.stallTimer == nil {
		c.stallTimer = time.NewTimer(stallMax)
	} else {
		c.stallTimer.Reset(stallMax)
	}
	select {
	case <-ch:
	case <-c.stallTimer.C:
	}
	c.stallTimer.Stop()
}

// chunk is one piece of an outbound queue.
type chunk struct {
	b     []byte
	class int // index into chunkSizes, or -1 for an unpooled large chunk
	// cuts are payloads written from a read buffer between the bytes
	// of b, in order (see readbuf.go).
	cuts []cut
}

// cut is a payload sent from a read buffer after the first at bytes of
// its chunk. rb is set on the cut that holds the buffer for its queue.
type cut struct {
	at int
	p  []byte
	rb *readBuf
}

// chunkSizes are the pooled chunk capacities. A connection's queue starts
// with a small chunk and each further chunk is one class larger, so a
// trickle costs little memory and a burst few chunks.
var chunkSizes = [...]int{1 << 10, 4 << 10, 16 << 10, 64 << 10}

var chunkPools [len(chunkSizes)]sync.Pool

func init() {
	for i := range chunkPools {
		size, class := chunkSizes[i], i
		chunkPools[i].New = func() any { return &chunk{b: make([]byte, 0, size), class: class} }
	}
}

// newChunk returns a chunk with room for n bytes, of at least the given
// class.
func newChunk(n int, class int) *chunk {
	for class < len(chunkSizes) && chunkSizes[class] < n {
		class++
	}
	if class == len(chunkSizes) {
		return &chunk{b: make([]byte, 0, n), class: -1}
	}
	return chunkPools[class].Get().(*chunk)
}

func putChunk(ck *chunk) {
	if len(ck.cuts) > 0 {
		for i := range ck.cuts {
			if rb := ck.cuts[i].rb; rb != nil {
				rb.unpin()
			}
		}
		clear(ck.cuts)
		ck.cuts = ck.cuts[:0]
	}
	if ck.class < 0 {
		return
	}
	ck.b = ck.b[:0]
	chunkPools[ck.class].Put(ck)
}

// pending returns the bytes queued or being written. c.mu is held.
func (o *outbound) pending() int { return o.pb + o.inflight }

// overPending reports whether more than max_pending bytes wait for this
// socket connection: messages and control lines (PONG, +OK, -ERR, PING,
// INFO) alike, so a client that keeps asking and never reads is cut as a
// slow consumer instead of growing the queue without bound. c.mu is held.
func (c *client) overPending() bool {
	return c.kind == kindClient && !c.closed && int64(c.out.pending()) > c.srv.lim().maxPending
}

// queued follows a control line its read loop queued: the connection is
// cut when the queue passed max_pending, else its writer will be woken.
func (c *client) queued(slow bool) {
	if slow {
		c.slowConsumer()
		return
	}
	if c.readState != nil {
		c.pc.touch(c)
	}
}

// tail returns the chunk to append n more bytes to.
func (o *outbound) tail(n int) *chunk {
	if k := len(o.chunks); k > 0 {
		if ck := o.chunks[k-1]; cap(ck.b)-len(ck.b) >= n {
			return ck
		}
	}
	ck := newChunk(n, o.class)
	if ck.class >= 0 && ck.class < len(chunkSizes)-1 {
		o.class = ck.class + 1
	}
	o.chunks = append(o.chunks, ck)
	return ck
}

// add queues a copy of b.
func (o *outbound) add(b []byte) {
	ck := o.tail(len(b))
	ck.b = append(ck.b, b...)
	o.pb += len(b)
}

// addErr queues an -ERR line.
func (o *outbound) addErr(text string) {
	ck := o.tail(len(text) + 16)
	n := len(ck.b)
	ck.b = protocol.AppendErr(ck.b, text)
	o.pb += len(ck.b) - n
}

// msgOverhead bounds what an MSG/HMSG line adds to its subject, sid,
// reply, header and payload: the verb, four separators, two counts and two
// CRLFs.
const msgOverhead = 64

// addMsg queues an MSG, or an HMSG when header is not nil.
func (o *outbound) addMsg(subject []byte, sid string, reply, header, payload []byte) {
	ck := o.tail(len(subject) + len(sid) + len(reply) + len(header) + len(payload) + msgOverhead)
	n := len(ck.b)
	if header != nil {
		ck.b = protocol.AppendHMsg(ck.b, subject, sid, reply, header, payload)
	} else {
		ck.b = protocol.AppendMsg(ck.b, subject, sid, reply, payload)
	}
	o.pb += len(ck.b) - n
}

// addShared queues an MSG or HMSG (header not nil) whose header and
// payload stay in rb, the read buffer they were parsed into, and are
// written from there. It reports false, queuing nothing, when they are not
// in rb or the queue holds maxPins other read buffers already.
func (o *outbound) addShared(subject []byte, sid string, reply, header, payload []byte, rb *readBuf) bool {
	pin := rb != o.lastPin
	if pin && o.pins > 0 && (o.pins >= maxPins || o.pinned > 4*o.pb) {
		return false
	}
	body := rb.body(header, payload)
	if body == nil {
		return false
	}
	ck := o.tail(len(subject) + len(sid) + len(reply) + msgOverhead)
	n := len(ck.b)
	if header != nil {
		ck.b = protocol.AppendHMsgLine(ck.b, subject, sid, reply, len(header), len(body))
	} else {
		ck.b = protocol.AppendMsgLine(ck.b, subject, sid, reply, len(body))
	}
	ct := cut{at: len(ck.b), p: body}
	if pin {
		rb.refs.Add(1)
		ct.rb = rb
		o.lastPin = rb
		o.pins++
		o.pinned += len(rb.b)
	}
	ck.cuts = append(ck.cuts, ct)
	ck.b = append(ck.b, "\r\n"...)
	o.pb += len(ck.b) - n + len(body)
	return true
}

// take hands everything queued to the writer. c.mu is held.
func (o *outbound) take() []*chunk {
	chunks := o.chunks
	o.chunks = o.spare[:0]
	o.spare = nil
	o.inflight = o.pb
	o.pb = 0
	o.lastPin, o.pins, o.pinned = nil, 0, 0
	return chunks
}

// appendBufs appends the bytes of chunks to a writev list.
func appendBufs(bufs [][]byte, chunks []*chunk) [][]byte {
	for _, ck := range chunks {
		at := 0
		for i := range ck.cuts {
			ct := &ck.cuts[i]
			bufs = append(bufs, ck.b[at:ct.at], ct.p)
			at = ct.at
		}
		bufs = append(bufs, ck.b[at:])
	}
	return bufs
}

// reset drops everything queued.
func (o *outbound) reset() {
	for i, ck := range o.chunks {
		putChunk(ck)
		o.chunks[i] = nil
	}
	o.chunks = o.chunks[:0]
	o.pb = 0
	o.class = 0
	o.lastPin, o.pins, o.pinned = nil, 0, 0
}

// bytes returns a copy of what is queued, for tests and diagnostics.
func (o *outbound) bytes() []byte {
	var b []byte
	for _, p := range appendBufs(nil, o.chunks) {
		b = append(b, p...)
	}
	return b
}

// signal starts the write loop unless it is running; it never blocks. A
// running loop sees what was queued before the signal.
func (c *client) signal() {
	if c.nc == nil || !c.out.writing.CompareAndSwap(false, true) {
		return
	}
	c.srv.wg.Add(1)
	go c.writeLoop()
}

// writeLoop owns the socket's writes while there is something to write.
func (c *client) writeLoop() {
	defer c.srv.wg.Done()
	wd := c.srv.opts.WriteDeadline
	if w := c.out.now; w != nil && w.restChunks != nil {
		chunks, rest := w.restChunks, w.rest
		w.rest, w.restChunks = nil, nil
		c.nc.SetWriteDeadline(time.Now().Add(wd))
		c.out.armed = time.Now()
		err := c.writeBufs(rest)
		c.doneWriting(chunks)
		if err != nil {
			c.writeFailed(err)
			return
		}
	}
	for {
		c.mu.Lock()
		if len(c.out.chunks) == 0 {
			c.out.class = 0 // idle again: the next burst starts small
			closed := c.closed
			c.mu.Unlock()
			if closed {
				c.closeNC()
				return
			}
			// Stop; a signal from now on starts a new loop. One that came
			// between the check above and the store found the loop still
			// running, so look again and take its work back if no new loop
			// has.
			c.out.writing.Store(false)
			c.mu.Lock()
			more := len(c.out.chunks) > 0 || c.closed
			c.mu.Unlock()
			if !more || !c.out.writing.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		chunks := c.out.take()
		c.mu.Unlock()

		bufs := appendBufs(c.out.bufs[:0], chunks)
		// Re-arming the deadline costs a timer update; do it only when
		// half of it has gone by.
		if now := time.Now(); now.Sub(c.out.armed) > wd/2 {
			c.nc.SetWriteDeadline(now.Add(wd))
			c.out.armed = now
		}
		err := c.writeBufs(bufs)
		clear(bufs)
		c.out.bufs = bufs[:0]
		c.doneWriting(chunks)
		if err != nil {
			c.writeFailed(err)
			return
		}
	}
}

// writeBufs writes bufs whole for the write loop, waiting for room under
// the write deadline. On a plain TCP socket under Linux the writes are raw
// non-blocking system calls (see writevAll).
func (c *client) writeBufs(bufs [][]byte) error {
	if maxIovecs > 0 && c.raw != nil {
		return c.out.writer().writevAll(c.raw, bufs)
	}
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(c.nc)
	return err
}

// writer returns the connection's raw-write state, made on first use: an
// idle connection has none. The writer role owns it.
func (o *outbound) writer() *writeNow {
	if o.now == nil {
		o.now = &writeNow{}
	}
	return o.now
}

// doneWriting returns written chunks to their pools and releases the
// publishers held back by this queue once it is short again.
func (c *client) doneWriting(chunks []*chunk) {
	for i, ck := range chunks {
		putChunk(ck)
		chunks[i] = nil
	}
	c.mu.Lock()
	c.out.inflight = 0
	if c.out.stc != nil && int64(c.out.pb) <= stallAt(c.srv.lim().maxPending) {
		c.out.releaseStalled()
	}
	if c.out.spare == nil && cap(chunks) <= 1024 {
		c.out.spare = chunks[:0]
	}
	c.mu.Unlock()
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
	c.closeNC()
}
