package server

import (
	"github.com/wrenmq/wren/protocol"
)

// maxL1 bounds a producer's own cache of match results.
const maxL1 = 256

// producer is the publishing side of a connection. A socket connection's
// read loop owns one; in-process publishers borrow one from a pool. It
// remembers the subscribers it queued messages for, so each is woken once
// per read buffer, and keeps a lock-free cache of match results that is
// dropped whenever the subject index changes.
type producer struct {
	c *client
	// touched are the subscribers queued to since the last flush: the
	// first few in a short list scanned without hashing, the rest in a
	// map; last is the one touched most recently.
	touched []*client
	more    map[*client]struct{}
	last    *client
	cache   map[string]*matchResult
	// hit is the result of the subject matched last from the cache, and
	// hitSubj a copy of that subject: a run of publishes to one subject
	// skips the map's hashing.
	hit     *matchResult
	hitSubj []byte
	gen     uint64
	rnd     uint64
	msg     protocol.Msg
	hdr     []byte
	// shown, when set, is the subject deliveries carry instead of the
	// one they were routed by (see publishAs).
	shown []byte
	// trace is set while a traced message is published (msgtrace.go).
	trace *msgTrace

	outMsgs, outBytes int64

	// queues, set while a message from a leaf link is published, are the
	// queue groups the hub sent it to; lt collects the links a message
	// goes to (see sendLeafTargets).
	queues [][]byte
	lt     []leafTarget

	// rb is the read buffer being parsed, set by the read loop while it
	// parses: payloads in it may be shared with subscribers' queues
	// instead of copied (see readbuf.go).
	rb *readBuf

	// stall is set when a delivery found its subscriber more than stallAt
	// behind; the read loop then waits on it (see waitStalled).
	stall chan struct{}

	// once holds the results of subjects that are never cached, two so
	// that a no-responders reply can be matched while the request's
	// result is still in hand; nonce picks the next.
	once  *[2]matchResult
	nonce int
}

func (p *producer) init(c *client) {
	p.c = c
	p.rnd = (c.cid+1)*0x9E3779B97F4A7C15 | 1
}

// touch records that sc has something new to write.
func (p *producer) touch(sc *client) {
	if sc == p.last {
		return
	}
	p.last = sc
	for _, c := range p.touched {
		if c == sc {
			return
		}
	}
	if len(p.touched) < maxTouchList {
		p.touched = append(p.touched, sc)
		return
	}
	if p.more == nil {
		p.more = make(map[*client]struct{})
	}
	p.more[sc] = struct{}{}
}

// maxTouchList bounds the list of touched subscribers scanned before the
// map is used: a scan of a few pointers is cheaper than a hash.
const maxTouchList = 8

// flush wakes every writer touched since the last flush, and adds this
// batch's counts to the server's.
func (p *producer) flush() { p.flushWith(false) }

// flushNow is flush at the end of a read buffer or of a batch of
// in-process publishes (PubAcks): a short queue whose writer is idle is
// written at once (see signalNow). Single in-process publishes use flush,
// so that a run of them is coalesced by the write loop instead of costing
// a write each.
func (p *producer) flushNow() { p.flushWith(true) }

func (p *producer) flushWith(now bool) {
	// Count first: once a writer is woken, its client may see what was
	// queued (a PONG after the messages) and ask for the counters.
	if p.outMsgs > 0 {
		st := &p.c.srv.stats
		st.outMsgs.Add(p.outMsgs)
		st.outBytes.Add(p.outBytes)
		p.outMsgs, p.outBytes = 0, 0
	}
	for i, sc := range p.touched {
		p.wake(sc, now)
		p.touched[i] = nil
	}
	p.touched = p.touched[:0]
	for sc := range p.more {
		p.wake(sc, now)
	}
	clear(p.more)
	p.last = nil
}

func (p *producer) wake(sc *client, now bool) {
	if now {
		sc.signalNow()
	} else {
		sc.signal()
	}
}

// intn returns a pseudo-random number in [0, n).
func (p *producer) intn(n int) int {
	x := p.rnd
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	p.rnd = x
	return int(x % uint64(n))
}

// match returns what subject matches, from the producer's own cache when it
// is current.
func (p *producer) match(subject []byte) *matchResult {
	sl := p.c.srv.sl
	gen := sl.genid.Load()
	if p.cache != nil {
		if gen == p.gen {
			if p.hit != nil && string(subject) == string(p.hitSubj) {
				return p.hit
			}
			if r, ok := p.cache[string(subject)]; ok {
				p.remember(subject, r)
				return r
			}
		} else {
			clear(p.cache)
			p.hit = nil
		}
	} else {
		p.cache = make(map[string]*matchResult)
	}
	p.gen = gen
	if !cacheable(subject) {
		// An inbox or ack subject: matched into the producer's own
		// result, valid until its next such match (publish uses it
		// before noResponders or a leaf target needs another).
		if p.once == nil {
			p.once = new([2]matchResult)
		}
		r := &p.once[p.nonce%2]
		p.nonce++
		sl.matchInto(transient(subject), r)
		return r
	}
	r := sl.matchBytes(subject)
	if len(p.cache) >= maxL1 {
		clear(p.cache)
	}
	p.cache[string(subject)] = r
	p.remember(subject, r)
	return r
}

// remember makes r, the cached result of subject, the one the next match
// compares against first.
func (p *producer) remember(subject []byte, r *matchResult) {
	p.hit = r
	p.hitSubj = append(p.hitSubj[:0], subject...)
}

// publish delivers one message to everyone subscribed to subject. A leaf
// link's interest gets one copy per link (see sendLeafTargets); a queue
// group is served by a local member when it has one, by a link only
// otherwise. A message from a link goes to local subscribers only, and to
// the queue groups the hub named.
func (p *producer) publish(subject, reply, header, payload []byte) {
	c := p.c
	fromLeaf := c.kind == kindLeaf
	r := p.match(subject)
	delivered := false
	for _, sub := range r.psubs {
		if sub.client.kind == kindLeaf {
			if !fromLeaf && !sub.closed.Load() {
				p.addLeafTarget(sub)
				delivered = true
			}
			continue
		}
		if sub.client == c && (!c.opts.Echo || sub.noLocal) {
			continue
		}
		if p.deliver(sub, subject, reply, header, payload) {
			delivered = true
		}
	}
	if !fromLeaf || len(p.queues) > 0 {
		for i := range r.qsubs {
			if fromLeaf && !namedQueue(p.queues, r.qsubs[i].name) {
				continue
			}
			if p.deliverQueue(r.qsubs[i].subs, subject, reply, header, payload) {
				delivered = true
			}
		}
	}
	if len(p.lt) > 0 {
		if p.trace != nil {
			header = p.traceLeaves(header)
		}
		p.sendLeafTargets(subject, reply, header, payload)
	}
	if !delivered && len(reply) > 0 && c.opts.NoResponders {
		p.noResponders(subject, reply)
	}
}

// deliverQueue hands a message to one member of a queue group: a local
// one, picked at random, or else a leaf link that has the group.
func (p *producer) deliverQueue(g []*subscription, subject, reply, header, payload []byte) bool {
	c := p.c
	start := p.intn(len(g))
	var link *subscription
	for k := range g {
		sub := g[(start+k)%len(g)]
		if sub.client.kind == kindLeaf {
			if link == nil && c.kind != kindLeaf && !sub.closed.Load() {
				link = sub
			}
			continue
		}
		if sub.client == c && (!c.opts.Echo || sub.noLocal) {
			continue
		}
		if p.deliver(sub, subject, reply, header, payload) {
			return true
		}
	}
	if link != nil {
		p.addLeafTarget(link)
		return true
	}
	return false
}

// namedQueue reports whether name is one of the queue groups a hub sent a
// message to.
func namedQueue(queues [][]byte, name string) bool {
	for _, q := range queues {
		if string(q) == name {
			return true
		}
	}
	return false
}

// publishAs delivers to the subscribers of route a message that carries
// subject, as a JetStream delivery does: routed to an inbox or deliver
// subject, shown with the subject it was stored under.
func (p *producer) publishAs(route, subject, reply, header, payload []byte) {
	p.shown = subject
	p.publish(route, reply, header, payload)
	p.shown = nil
}

// deliver queues one message for one subscription; it reports false when
// the subscription or its connection is gone.
func (p *producer) deliver(sub *subscription, subject, reply, header, payload []byte) bool {
	if sub.closed.Load() {
		return false
	}
	if sub.filter.Load() && sub.client.deliveryDenied(subject, sub) {
		return false
	}
	if p.trace != nil && p.traceDeliver(sub, subject, reply, header, payload) {
		return true
	}
	n := sub.nm.Add(1)
	if max := sub.max.Load(); max > 0 {
		if n > max {
			// Normally removed by the delivery that reached max; but an
			// UNSUB that set max while that delivery was in flight leaves
			// the subscription behind, so drop it here (idempotent).
			sub.client.removeSub(sub)
			return false
		}
		if n == max {
			defer sub.client.removeSub(sub)
		}
	}
	size := int64(len(header) + len(payload))
	if p.shown != nil {
		subject = p.shown
	}
	if sub.handler != nil {
		p.msg = protocol.Msg{Subject: subject, Reply: reply, Header: header, Data: payload, Sender: p.sender()}
		sub.handler(&p.msg)
		p.msg = protocol.Msg{}
		p.outMsgs++
		p.outBytes += size
		return true
	}
	sc := sub.client
	if len(reply) > 0 {
		sc.recordReply(reply)
	}
	sc.mu.Lock()
	if sc.closed {
		sc.mu.Unlock()
		return false
	}
	if !sc.opts.Headers {
		header = nil // stripped for clients that cannot read HMSG
	}
	if p.rb == nil || sc.raw == nil || len(header)+len(payload) < shareMin ||
		!sc.out.addShared(subject, sub.sid, reply, header, payload, p.rb) {
		sc.out.addMsg(subject, sub.sid, reply, header, payload)
	}
	sc.outMsgs++
	sc.outBytes += size
	pending, maxPending := int64(sc.out.pending()), sc.srv.lim().maxPending
	slow := pending > maxPending
	if !slow && pending > stallAt(maxPending) && p.c.kind == kindClient && sc != p.c {
		// Far behind: hold this publisher back briefly (see stallMax).
		if sc.out.stc == nil {
			sc.out.stc = make(chan struct{})
		}
		p.stall = sc.out.stc
	}
	sc.mu.Unlock()
	p.outMsgs++
	p.outBytes += size
	if slow {
		sc.slowConsumer()
		return true
	}
	p.touch(sc)
	return true
}

// noResponders tells a requester that nobody is subscribed to the subject it
// sent a request to: a 503 status on its reply subject.
func (p *producer) noResponders(subject, reply []byte) {
	c := p.c
	if t := p.trace; t != nil {
		p.trace = nil // the status is no delivery of the traced message
		defer func() { p.trace = t }()
	}
	p.hdr = protocol.NoRespondersHeader(p.hdr[:0], subject)
	r := p.match(reply)
	for _, sub := range r.psubs {
		if sub.client == c {
			p.deliver(sub, reply, nil, p.hdr, nil)
		}
	}
}

// slowConsumer cuts a connection whose queued bytes passed max_pending.
// Publishers never wait for it; it is closed without flushing.
func (c *client) slowConsumer() {
	c.mu.Lock()
	name := c.opts.Name
	c.mu.Unlock()
	if c.closeConn(reasonSlowConsumer, false) {
		c.srv.stats.slowConsumers.Add(1)
		c.srv.log.Warn("slow consumer: pending bytes over max_pending, closing",
			"cid", c.cid, "name", name, "max_pending", c.srv.lim().maxPending)
	}
}
