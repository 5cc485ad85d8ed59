package server

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// kindLeaf is a leaf-node link to a hub: its subscriptions are the hub's
// interest, messages to it leave as LMSG/HMSG, and messages from it are
// delivered to local subscribers only (never to another link).
const kindLeaf = 100

// LeafOptions describe one leaf-node link to the broker.
type LeafOptions struct {
	// Name names the link in logs and monitoring (the hub's server name).
	Name string
	// Announce says whether local interest on a subject is announced to
	// the hub (LS+); nil announces everything.
	Announce func(subject string) bool
	// Export says whether a local message on a subject may go to the hub;
	// nil lets every message the hub is interested in go.
	Export func(subject []byte) bool
	// PingInterval is how often the link is pinged; MaxPingsOut how many
	// pings may go unanswered before it is closed as stale.
	PingInterval time.Duration
	MaxPingsOut  int
	// MaxPayload is the hub's max_payload: a message whose header and
	// payload are larger is not sent (the hub would close the link for
	// it) but counted and logged. 0 is no limit.
	MaxPayload int
}

// LeafConn is the broker's side of a leaf-node link whose handshake the
// caller has done on nc. The caller reads the hub's protocol and calls Sub,
// Unsub, Msg and Pong from one goroutine; the broker writes to nc through
// the connection's write loop (write deadline, max_pending), so a slow or
// dead link is cut, never waited for.
type LeafConn struct {
	c    *client
	p    producer // the read goroutine's, for Msg
	opts LeafOptions

	pingTmr  *time.Timer
	pingsOut atomic.Int32
	tooBig   atomic.Int64
	rtt      atomic.Int64
	pingSent atomic.Int64
	closed   chan struct{}
	once     sync.Once
}

// AttachLeaf registers a leaf-node link over nc, whose handshake (INFO,
// CONNECT) is done. Call Start once the caller is ready to read.
func (s *Server) AttachLeaf(nc net.Conn, opts LeafOptions) (*LeafConn, error) {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.nextCID++
	c := newClient(s, nc, s.nextCID, kindLeaf)
	c.opts = connectOpts{Headers: true, Name: opts.Name, Lang: "leafnode"}
	c.connected = true
	s.clients[c.cid] = c
	s.mu.Unlock()
	s.stats.totalConns.Add(1)
	if opts.PingInterval <= 0 {
		opts.PingInterval = s.lim().pingInterval
	}
	if opts.MaxPingsOut <= 0 {
		opts.MaxPingsOut = s.lim().maxPingsOut
	}
	l := &LeafConn{c: c, opts: opts, closed: make(chan struct{})}
	l.p.init(c)
	c.leaf = l
	return l, nil
}

// Start announces the local interest to the hub (one LS+ per subject and
// queue group, with the group's weight), keeps the hub told of every change
// from now on, and starts pinging.
func (l *LeafConn) Start() {
	s := l.c.srv
	s.interest.attach(l)
	l.pingTmr = time.AfterFunc(l.opts.PingInterval, l.pingTick)
}

// announce queues an LS+ (n > 0) or LS- (n == 0) for key, which is a
// subject or "subject queue". The interest lock is held.
func (l *LeafConn) announce(subject, queue string, n int32) {
	if l.opts.Announce != nil && !l.opts.Announce(subject) {
		return
	}
	var b [256]byte
	line := b[:0]
	if n > 0 {
		line = append(line, "LS+ "...)
	} else {
		line = append(line, "LS- "...)
	}
	line = append(line, subject...)
	if queue != "" {
		line = append(line, ' ')
		line = append(line, queue...)
		if n > 0 {
			line = append(line, ' ')
			line = strconv.AppendInt(line, int64(n), 10)
		}
	}
	line = append(line, '\r', '\n')
	l.c.mu.Lock()
	if !l.c.closed {
		l.c.out.add(line)
	}
	l.c.mu.Unlock()
	l.c.signal()
}

// Send queues raw protocol bytes to the hub (PING, PONG, a loop-detection
// LS+). It is called from the link's read goroutine and its ping timer
// alike, so it wakes the writer itself rather than through a read loop's
// set of touched clients.
func (l *LeafConn) Send(b []byte) {
	l.c.mu.Lock()
	if !l.c.closed {
		l.c.out.add(b)
	}
	l.c.mu.Unlock()
	l.c.signal()
}

// leafSubKey is how a link's subscriptions are keyed: LS- names them so.
func leafSubKey(subject, queue []byte) string {
	if len(queue) == 0 {
		return string(subject)
	}
	return string(subject) + " " + string(queue)
}

// Sub records the hub's interest in subject (and queue group, with its
// weight); a repeated LS+ for a queue group updates its weight.
func (l *LeafConn) Sub(subject, queue []byte, weight int) error {
	if !protocol.ValidFilterBytes(subject) || (len(queue) > 0 && !protocol.ValidLiteralBytes(queue)) {
		return ErrInvalidSubject
	}
	key := leafSubKey(subject, queue)
	c := l.c
	c.mu.Lock()
	if old := c.subs[key]; old != nil {
		old.nm.Store(int64(weight)) // a link's subscriptions count no deliveries: nm holds the weight
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	sub := &subscription{client: c, subject: string(subject), queue: string(queue), sid: key}
	sub.nm.Store(int64(weight))
	if err := c.addSub(sub); err != nil && err != errClosing {
		return ErrInvalidSubject
	}
	return nil
}

// Unsub drops the hub's interest named as in LS-.
func (l *LeafConn) Unsub(subject, queue []byte) {
	l.c.unsub(leafSubKey(subject, queue), 0)
}

// Msg delivers a message from the hub to local subscribers: every plain
// subscriber, and one member of each queue group the hub named. It must be
// called from the link's read goroutine; Flush wakes the writers.
//
// A JetStream delivery arrives routed to its inbox or deliver subject,
// with the subject it was stored under after an '@' at the end of its
// ack reply ("$JS.ACK.….@orders.new"), as nats-server sends it between
// servers; it is delivered showing that subject.
func (l *LeafConn) Msg(subject, reply []byte, queues [][]byte, header, payload []byte) {
	c := l.c
	c.inMsgs.Add(1)
	c.inBytes.Add(int64(len(header) + len(payload)))
	l.p.queues = queues
	if i := jsAckDeliverAt(reply); i > 0 {
		l.p.publishAs(subject, reply[i+1:], reply[:i], header, payload)
	} else if len(header) > 0 && c.srv.mayTrace(header) {
		l.p.tracedPublish(subject, reply, header, payload)
	} else {
		l.p.publish(subject, reply, header, payload)
	}
	l.p.queues = nil
}

// jsAckDeliverAt returns where the '@' before a delivered subject sits in
// a JetStream ack reply, or -1.
func jsAckDeliverAt(reply []byte) int {
	if len(reply) < len(ackPrefix) || string(reply[:len(ackPrefix)]) != ackPrefix {
		return -1
	}
	dots := 0
	for i, b := range reply {
		switch b {
		case '.':
			dots++
		case '@':
			if dots >= 8 && i < len(reply)-1 {
				return i
			}
			return -1
		}
	}
	return -1
}

// Flush wakes the writers of everyone Msg queued messages for; call it
// after each read from the link.
func (l *LeafConn) Flush() { l.p.flush() }

// SetRTT records a round trip measured by the caller (the handshake's
// first PING), so the link shows one before its first ping tick.
func (l *LeafConn) SetRTT(d time.Duration) { l.rtt.Store(int64(d)) }

// Pong records the hub's answer to a ping.
func (l *LeafConn) Pong() {
	if l.pingsOut.Swap(0) > 0 {
		if t := l.pingSent.Load(); t > 0 {
			l.rtt.Store(time.Now().UnixNano() - t)
		}
	}
}

func (l *LeafConn) pingTick() {
	c := l.c
	if l.pingsOut.Add(1) > int32(l.opts.MaxPingsOut) {
		c.srv.log.Warn("leafnode link stale: pings unanswered, closing", "remote", l.opts.Name)
		l.Close(errStale.text)
		return
	}
	l.pingSent.Store(time.Now().UnixNano())
	l.Send(protocol.PingLine)
	l.pingTmr.Reset(l.opts.PingInterval)
}

// Close ends the link: the socket is closed and the hub's interest
// removed. It is safe to call more than once.
func (l *LeafConn) Close(reason string) {
	l.once.Do(func() {
		if l.pingTmr != nil {
			l.pingTmr.Stop()
		}
		l.c.srv.interest.detach(l)
		l.c.closeConn(reason, false)
		l.c.teardown()
		close(l.closed)
	})
}

// Done is closed once the link is closed, by Close or by a failed write.
func (l *LeafConn) Done() <-chan struct{} { return l.closed }

// Closed reports the reason a link was closed by the broker (a failed or
// timed-out write, a slow consumer), or "" while it is open.
func (l *LeafConn) Closed() string {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	if !l.c.closed {
		return ""
	}
	return l.c.reason
}

// LeafStats are a link's counters for /leafz.
type LeafStats struct {
	Cid           uint64
	IP            string // the hub's address
	Port          int
	Start         time.Time
	RTT           time.Duration
	InMsgs        int64
	InBytes       int64
	OutMsgs       int64
	OutBytes      int64
	Subscriptions int
	Pending       int
	TooBig        int64 // messages not sent for being over the hub's max_payload
	Subs          []string
}

// Stats returns the link's counters; with subs, the hub's interest too.
func (l *LeafConn) Stats(subs bool) LeafStats {
	c := l.c
	st := LeafStats{Cid: c.cid, IP: c.host, Port: c.port, Start: c.start, RTT: time.Duration(l.rtt.Load()),
		InMsgs: c.inMsgs.Load(), InBytes: c.inBytes.Load(), TooBig: l.tooBig.Load()}
	c.mu.Lock()
	st.OutMsgs, st.OutBytes = c.outMsgs, c.outBytes
	st.Subscriptions = len(c.subs)
	st.Pending = c.out.pending()
	if subs {
		for k, sub := range c.subs {
			if sub.queue != "" {
				k += " " + strconv.FormatInt(sub.nm.Load(), 10)
			}
			st.Subs = append(st.Subs, k)
		}
	}
	c.mu.Unlock()
	return st
}

// leafTarget is one link a message goes to, with the queue groups it goes
// to there.
type leafTarget struct {
	c      *client
	plain  bool
	queues []byte // space-separated group names
}

// addLeafTarget notes that the message being published goes to sub's link,
// as a plain copy (queue "") or for the named queue group.
func (p *producer) addLeafTarget(sub *subscription) {
	for i := range p.lt {
		if p.lt[i].c == sub.client {
			p.lt[i].add(sub.queue)
			return
		}
	}
	p.lt = append(p.lt, leafTarget{c: sub.client})
	p.lt[len(p.lt)-1].add(sub.queue)
}

func (t *leafTarget) add(queue string) {
	if queue == "" {
		t.plain = true
		return
	}
	if len(t.queues) > 0 {
		t.queues = append(t.queues, ' ')
	}
	t.queues = append(t.queues, queue...)
}

// sendLeafTargets writes the message once to each link noted, as LMSG (or
// HMSG with a header): "+ reply queues…" or "| queues…" when it goes to
// queue groups there. A link never stalls the publisher: one too far
// behind is cut at max_pending.
func (p *producer) sendLeafTargets(subject, reply, header, payload []byte) {
	var shown []byte
	if p.shown != nil && len(reply) > 0 {
		// Routed by subject (an inbox, a deliver subject) on the hub too;
		// the stored subject rides after the reply, as between servers.
		shown = p.shown
	}
	for i := range p.lt {
		t := &p.lt[i]
		sc := t.c
		if ex := sc.leaf.opts.Export; ex != nil && !ex(subject) {
			t.queues = t.queues[:0]
			t.plain = false
			continue
		}
		size := int64(len(header) + len(payload))
		if mp := sc.leaf.opts.MaxPayload; mp > 0 && size > int64(mp) {
			if sc.leaf.tooBig.Add(1) == 1 {
				sc.srv.log.Warn("leafnode link: a message larger than the hub's max_payload is not sent (logged once per link)",
					"remote", sc.leaf.opts.Name, "subject", string(subject), "size", size, "max_payload", mp)
			}
			t.queues = t.queues[:0]
			t.plain = false
			continue
		}
		sc.mu.Lock()
		if !sc.closed {
			ck := sc.out.tail(len(subject) + len(reply) + len(shown) + len(t.queues) + len(header) + len(payload) + msgOverhead)
			n := len(ck.b)
			ck.b = appendLeafMsg(ck.b, subject, reply, shown, t.queues, header, payload)
			sc.out.pb += len(ck.b) - n
			sc.outMsgs++
			sc.outBytes += size
		}
		slow := int64(sc.out.pending()) > sc.srv.lim().maxPending
		sc.mu.Unlock()
		p.outMsgs++
		p.outBytes += size
		if slow {
			sc.slowConsumer()
		} else {
			p.touch(sc)
		}
		t.queues = t.queues[:0]
		t.plain = false
	}
	p.lt = p.lt[:0]
}

// appendLeafMsg encodes a message for a link.
func appendLeafMsg(b, subject, reply, shown, queues, header, payload []byte) []byte {
	if header != nil {
		b = append(b, "HMSG "...)
	} else {
		b = append(b, "LMSG "...)
	}
	b = append(b, subject...)
	b = append(b, ' ')
	if len(queues) > 0 {
		if len(reply) > 0 {
			b = append(b, "+ "...)
			b = appendReply(b, reply, shown)
			b = append(b, ' ')
		} else {
			b = append(b, "| "...)
		}
		b = append(b, queues...)
		b = append(b, ' ')
	} else if len(reply) > 0 {
		b = appendReply(b, reply, shown)
		b = append(b, ' ')
	}
	if header != nil {
		b = strconv.AppendInt(b, int64(len(header)), 10)
		b = append(b, ' ')
	}
	b = strconv.AppendInt(b, int64(len(header)+len(payload)), 10)
	b = append(b, '\r', '\n')
	b = append(b, header...)
	b = append(b, payload...)
	return append(b, '\r', '\n')
}

func appendReply(b, reply, shown []byte) []byte {
	b = append(b, reply...)
	if len(shown) > 0 && jsAckDeliverAt(reply) < 0 && len(reply) >= len(ackPrefix) && string(reply[:len(ackPrefix)]) == ackPrefix {
		b = append(b, '@')
		b = append(b, shown...)
	}
	return b
}

// interestKey is a subject, or a subject and queue group.
type interestKey struct{ subject, queue string }

// interestTracker counts the local subscriptions per subject and queue
// group, so leaf links are told of each change once. It is off (and
// costs nothing) until TrackInterest.
type interestTracker struct {
	on     atomic.Bool
	mu     sync.Mutex
	counts map[interestKey]int32
	links  []*LeafConn
}

// TrackInterest starts counting local interest for leaf links. Call it
// before anything subscribes (before Start and before the stream layer
// opens): subscriptions made earlier are never announced.
func (s *Server) TrackInterest() {
	s.interest.mu.Lock()
	if s.interest.counts == nil {
		s.interest.counts = make(map[interestKey]int32)
	}
	s.interest.mu.Unlock()
	s.interest.on.Store(true)
}

// changed records that sub was added (delta 1) or removed (-1).
func (t *interestTracker) changed(sub *subscription, delta int32) {
	if !t.on.Load() || sub.client.kind == kindLeaf {
		return
	}
	k := interestKey{sub.subject, sub.queue}
	t.mu.Lock()
	n := t.counts[k] + delta
	if n <= 0 {
		delete(t.counts, k)
	} else {
		t.counts[k] = n
	}
	if k.queue != "" || (delta > 0 && n == 1) || (delta < 0 && n == 0) {
		if n < 0 {
			n = 0
		}
		for _, l := range t.links {
			l.announce(k.subject, k.queue, n)
		}
	}
	t.mu.Unlock()
}

func (t *interestTracker) attach(l *LeafConn) {
	t.mu.Lock()
	for k, n := range t.counts {
		l.announce(k.subject, k.queue, n)
	}
	t.links = append(t.links, l)
	t.mu.Unlock()
}

func (t *interestTracker) detach(l *LeafConn) {
	t.mu.Lock()
	for i, x := range t.links {
		if x == l {
			t.links = append(t.links[:i], t.links[i+1:]...)
			break
		}
	}
	t.mu.Unlock()
}
