package server

import (
	"sync"

	"github.com/wrenmq/wren/protocol"
)

// deliverWakeBytes is how much a DeliverBatch queues before it wakes the
// receivers' writers in the middle of the batch: a pull request for many
// large messages starts flowing before the last one is queued.
const deliverWakeBytes = 256 << 10

// deliverBatch is the state of one DeliverBatch; fn is its deliver method,
// made once so that a batch allocates nothing.
type deliverBatch struct {
	ip           *InProc
	p            *producer
	closed       bool
	queued       int
	route, shown string // validated already
	msgs, bytes  int64
	// res is what route matches, lent to the producer's cache for the
	// batch (memo), so that an inbox, which is never cached, is matched
	// once per batch rather than once per message.
	res  matchResult
	memo bool
	fn   func(route, subject, reply string, header, data []byte) error
}

var deliverBatches = sync.Pool{New: func() any {
	b := &deliverBatch{}
	b.fn = b.deliver
	return b
}}

// DeliverBatch runs fn with a deliver function that hands messages out as
// PublishAs does, through one producer: the receiving connections' writers
// are woken when fn returns (and after every deliverWakeBytes queued), so
// the messages of one pull request leave in one socket write instead of
// one wake-up each. The stream layer serves a Fetch this way. The bytes
// are copied before deliver returns, so reply may be a reused buffer;
// route and subject must not change while the batch runs (a validated
// route or subject is not checked again). deliver must not be used after
// fn returns.
func (ip *InProc) DeliverBatch(fn func(deliver func(route, subject, reply string, header, data []byte) error)) {
	ip.deliverBatch(fn, false)
}

// DeliverBatchNow is DeliverBatch for a caller on a client's read loop
// (the stream layer's rounds at the end of a read buffer): when fn
// returns, a short queue whose writer is idle is written at once, as the
// read loop's own deliveries are (signalNow), instead of waking a write
// loop.
func (ip *InProc) DeliverBatchNow(fn func(deliver func(route, subject, reply string, header, data []byte) error)) {
	ip.deliverBatch(fn, true)
}

func (ip *InProc) deliverBatch(fn func(deliver func(route, subject, reply string, header, data []byte) error), now bool) {
	b := deliverBatches.Get().(*deliverBatch)
	ip.c.mu.Lock()
	b.closed = ip.c.closed
	ip.c.mu.Unlock()
	b.ip, b.p = ip, ip.pool.Get().(*producer)
	fn(b.fn)
	ip.c.inMsgs.Add(b.msgs)
	ip.c.inBytes.Add(b.bytes)
	b.unmemo()
	b.p.flushWith(now)
	ip.pool.Put(b.p)
	clear(b.res.psubs)
	fn2, psubs := b.fn, b.res.psubs[:0]
	*b = deliverBatch{fn: fn2, res: matchResult{psubs: psubs}}
	deliverBatches.Put(b)
}

// memoRoute matches route once and lends the result to the producer's
// cache, where publish finds it for the rest of the batch. A change to
// the subject index meanwhile clears that cache (see producer.match), and
// the route is then matched afresh each time, as without a batch. Only
// a route that is never cached and has no queue groups is lent.
func (b *deliverBatch) memoRoute(route string) {
	b.unmemo()
	if cacheable(route) {
		return // the producer caches it itself
	}
	r := b.p.match(bytesOf(route)) // also brings the cache up to date
	if len(r.qsubs) > 0 || b.p.cache == nil {
		return
	}
	b.res.psubs = append(b.res.psubs[:0], r.psubs...)
	b.p.cache[route] = &b.res
	b.memo = true
}

// unmemo takes the lent result back from the producer's cache.
func (b *deliverBatch) unmemo() {
	if !b.memo {
		return
	}
	if r, ok := b.p.cache[b.route]; ok && r == &b.res {
		delete(b.p.cache, b.route)
	}
	if b.p.hit == &b.res {
		b.p.hit = nil
	}
	b.memo = false
}

func (b *deliverBatch) deliver(route, subject, reply string, header, data []byte) error {
	if b.closed {
		return ErrClosed
	}
	if route != b.route {
		if !protocol.ValidLiteral(route) {
			return ErrInvalidSubject
		}
		b.memoRoute(route)
		b.route = route
	}
	if subject != b.shown {
		if !protocol.ValidLiteral(subject) {
			return ErrInvalidSubject
		}
		b.shown = subject
	}
	size := len(header) + len(data)
	b.msgs++
	b.bytes += int64(size)
	b.p.publishAs(bytesOf(route), bytesOf(subject), bytesOf(reply), header, data)
	if b.queued += size + len(subject) + len(reply); b.queued >= deliverWakeBytes {
		b.p.flush()
		b.queued = 0
	}
	return nil
}
