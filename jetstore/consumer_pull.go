package jetstore

import (
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Pull request statuses, as nats.go matches them.
const (
	descNoMessages     = "No Messages"
	descRequestTimeout = "Request Timeout"
	descMaxBytes       = "Message Size Exceeds MaxBytes"
	descIdleHeartbeat  = "Idle Heartbeat"
)

// Header names of the statuses.
const (
	hdrPendingMsgs   = "Nats-Pending-Messages"
	hdrPendingBytes  = "Nats-Pending-Bytes"
	hdrLastConsumer  = "Nats-Last-Consumer"
	hdrLastStream    = "Nats-Last-Stream"
	hdrConsumerStall = "Nats-Consumer-Stalled"
	hdrMsgSize       = "Nats-Msg-Size"
)

// pullRequestJSON is the body of CONSUMER.MSG.NEXT.
type pullRequestJSON struct {
	Batch     int           `json:"batch,omitempty"`
	Expires   time.Duration `json:"expires,omitempty"`
	MaxBytes  int           `json:"max_bytes,omitempty"`
	NoWait    bool          `json:"no_wait,omitempty"`
	Heartbeat time.Duration `json:"idle_heartbeat,omitempty"`
}

// pullRequest is a client's open request for messages.
type pullRequest struct {
	reply     string
	batch     int  // messages still wanted
	maxBytes  int  // bytes still wanted; 0 is no limit
	limited   bool // the request set max_bytes
	noWait    bool // answer at once
	expires   time.Duration
	hb        time.Duration
	expiresAt int64 // unix ns; 0 never
	nextHB    int64
	sent      int   // messages delivered to it
	seen      int64 // the round its reply subject last had a subscriber
	// sender is the client that made the request (nil: the server). Its
	// reply subject must stay one the server may publish to for it: the
	// broker checked it when the request came, and every round checks it
	// again, in case someone else has subscribed to it since.
	sender protocol.Sender
}

// parsePullRequest reads a MSG.NEXT body: JSON, a bare batch size, or
// nothing (one message).
func parsePullRequest(reply string, data []byte) (*pullRequest, error) {
	r := &pullRequest{reply: reply, batch: 1}
	if len(data) == 0 {
		return r, nil
	}
	if data[0] != '{' {
		n, err := strconv.Atoi(string(data))
		if err != nil {
			return nil, err
		}
		r.batch = n
		return r, nil
	}
	var j pullRequestJSON
	if err := parsePullJSON(data, &j); err != nil {
		return nil, err
	}
	r.batch, r.maxBytes, r.noWait, r.expires, r.hb = j.Batch, j.MaxBytes, j.NoWait, j.Expires, j.Heartbeat
	r.limited = j.MaxBytes > 0
	return r, nil
}

// addRequest checks a pull request against the consumer's limits and
// queues it. mu is held.
func (c *consumer) addRequest(r *pullRequest, now time.Time) {
	cfg := &c.cfg
	if !cfg.isPull() {
		c.sendStatus(r.reply, protocol.StatusConflict, "Consumer is push based", nil)
		return
	}
	if r.batch <= 0 {
		r.batch = 1
	}
	switch {
	case r.maxBytes < 0 || r.expires < 0 || r.hb < 0:
		c.sendStatus(r.reply, protocol.StatusBadRequest, "Bad Request", nil)
		return
	case cfg.MaxRequestBatch > 0 && r.batch > cfg.MaxRequestBatch:
		c.sendStatus(r.reply, protocol.StatusConflict, fmt.Sprintf("Exceeded MaxRequestBatch of %d", cfg.MaxRequestBatch), nil)
		return
	case cfg.MaxRequestMaxBytes > 0 && r.maxBytes > cfg.MaxRequestMaxBytes:
		c.sendStatus(r.reply, protocol.StatusConflict, fmt.Sprintf("Exceeded MaxRequestMaxBytes of %d", cfg.MaxRequestMaxBytes), nil)
		return
	case cfg.MaxRequestExpires > 0 && r.expires > cfg.MaxRequestExpires:
		c.sendStatus(r.reply, protocol.StatusConflict, fmt.Sprintf("Exceeded MaxRequestExpires of %v", cfg.MaxRequestExpires), nil)
		return
	case r.hb > 0 && r.expires > 0 && 2*r.hb > r.expires:
		c.sendStatus(r.reply, protocol.StatusBadRequest, "Bad Request - heartbeat value too large", nil)
		return
	}
	if len(c.waiting) >= cfg.MaxWaiting {
		c.expireRequests(now)
		if len(c.waiting) >= cfg.MaxWaiting {
			c.sendStatus(r.reply, protocol.StatusConflict, "Exceeded MaxWaiting", nil)
			return
		}
	}
	if r.expires > 0 {
		r.expiresAt = deadlineAt(now, r.expires)
	} else if cfg.MaxRequestExpires > 0 && !r.noWait {
		r.expiresAt = deadlineAt(now, cfg.MaxRequestExpires)
	}
	if r.hb > 0 {
		r.nextHB = deadlineAt(now, r.hb)
	}
	if r.noWait && r.expires > 0 && len(c.rdq) == 0 && c.pendingAfter() == 0 {
		// With nothing to deliver, a no_wait request that sets expires is
		// held like any other until it expires, then ends with a 408 (what
		// nats-py's fetch relies on); without expires it gets a 404 now.
		r.noWait = false
	}
	c.waiting = append(c.waiting, r)
}

// expireRequests ends the pull requests whose time ran out with a 408
// that says what they still wanted. mu is held.
func (c *consumer) expireRequests(now time.Time) {
	t := now.UnixNano()
	kept := c.waiting[:0]
	for _, r := range c.waiting {
		if r.expiresAt > 0 && r.expiresAt <= t {
			c.sendStatus(r.reply, protocol.StatusTimeout, descRequestTimeout, r)
			continue
		}
		kept = append(kept, r)
	}
	clear(c.waiting[len(kept):])
	c.waiting = kept
}

// heartbeats sends idle heartbeats to pull requests and push subscribers
// that heard nothing for their interval. mu is held.
func (c *consumer) heartbeats(now time.Time) {
	t := now.UnixNano()
	for _, r := range c.waiting {
		if r.hb > 0 && r.nextHB <= t {
			c.sendHeartbeat(r.reply, "")
			r.nextHB = t + int64(r.hb)
		}
	}
	if hb := c.cfg.Heartbeat; hb > 0 && !c.cfg.isPull() && c.push.denied == "" && c.push.lastSent+int64(hb) <= t {
		if c.push.fcPending != "" {
			// A stalled consumer asks again.
			c.sendFlowControl(c.push.fcPending)
		}
		c.sendHeartbeat(c.cfg.DeliverSubject, c.push.fcPending)
		c.push.lastSent = t
	}
}

// sendHeartbeat sends a 100 Idle Heartbeat status. mu is held.
func (c *consumer) sendHeartbeat(to, stalled string) {
	h := protocol.AppendHeaderStart(nil, protocol.StatusIdleHeartbeat, descIdleHeartbeat)
	h = protocol.AppendHeaderField(h, hdrLastConsumer, strconv.FormatUint(c.dseq, 10))
	h = protocol.AppendHeaderField(h, hdrLastStream, strconv.FormatUint(c.sseq-1, 10))
	if stalled != "" {
		h = protocol.AppendHeaderField(h, hdrConsumerStall, stalled)
	}
	h = protocol.AppendHeaderEnd(h)
	c.js.bus.Publish(to, "", h, nil)
}

// sendStatus sends a header-only status message; with r, it carries what
// the request still wanted.
func (c *consumer) sendStatus(to string, code int, desc string, r *pullRequest) {
	h := protocol.AppendHeaderStart(nil, code, desc)
	if r != nil {
		h = protocol.AppendHeaderField(h, hdrPendingMsgs, strconv.Itoa(r.batch))
		h = protocol.AppendHeaderField(h, hdrPendingBytes, strconv.Itoa(r.maxBytes))
	}
	h = protocol.AppendHeaderEnd(h)
	c.js.bus.Publish(to, "", h, nil)
}

// maxDeliverPerWork bounds the deliveries of one work call, so that acks
// and requests queued meanwhile are not starved.
const maxDeliverPerWork = 2048

// deliver hands out messages: to waiting pull requests, or to the deliver
// subject. It reports whether it stopped with work left. mu is held.
func (c *consumer) deliver(now time.Time) bool {
	if c.closed {
		return false
	}
	c.roundPendOK = false
	var more bool
	batch := func(deliver func(route, subject, reply string, header, data []byte) error) {
		c.emit = deliver
		more = c.deliverRound(now)
		c.emit = nil
	}
	if nd, ok := c.js.bus.(NowDeliverer); ok && c.onReader {
		nd.DeliverBatchNow(batch)
		return more
	}
	bd, ok := c.js.bus.(BatchDeliverer)
	if !ok {
		return c.deliverRound(now)
	}
	bd.DeliverBatch(batch)
	return more
}

// deliverRound is one round of deliver; commit sends through c.emit
// while it is set. mu is held.
func (c *consumer) deliverRound(now time.Time) bool {
	if c.counting() {
		c.countNew()
	}
	c.dropPurged()
	c.replay.due = 0 // set again by peek while a message is held back
	if !c.cfg.isPull() {
		return c.deliverPush(now)
	}
	n := 0
	round := now.UnixNano()
	for len(c.waiting) > 0 && n < maxDeliverPerWork {
		r := c.waiting[0]
		m, redelivery, ok := c.peek(now)
		if !ok {
			break
		}
		if r.seen != round {
			// A client that went away leaves its request behind: drop it
			// rather than deliver into the void.
			if !c.js.bus.HasInterest(r.reply) || (r.sender != nil && !r.sender.MayPublish(r.reply)) {
				c.popRequest()
				continue
			}
			r.seen = round
		}
		ack := c.nextAckSubject(&m, redelivery, now)
		size := len(ack) + deliverySize(&m, c.cfg.HeadersOnly)
		if r.limited && size > r.maxBytes {
			c.sendStatus(r.reply, protocol.StatusConflict, descMaxBytes, r)
			c.popRequest()
			continue
		}
		c.commit(&m, redelivery, r.reply, ack, now)
		n++
		r.sent++
		r.batch--
		if r.limited {
			r.maxBytes -= size
		}
		if r.hb > 0 {
			r.nextHB = deadlineAt(now, r.hb)
		}
		if r.batch == 0 || (r.limited && r.maxBytes == 0) {
			c.popRequest()
		} else if len(c.waiting) > 1 {
			// Round robin among competing requests.
			copy(c.waiting, c.waiting[1:])
			c.waiting[len(c.waiting)-1] = r
		}
	}
	if n >= maxDeliverPerWork {
		return true
	}
	// What is left of a no_wait request is answered now: 404.
	kept := c.waiting[:0]
	for _, r := range c.waiting {
		if !r.noWait {
			kept = append(kept, r)
			continue
		}
		// Whether or not some were delivered, as nats-server ends it.
		c.sendStatus(r.reply, protocol.StatusNoMessages, descNoMessages, nil)
	}
	clear(c.waiting[len(kept):])
	c.waiting = kept
	return false
}

// dropPurged forgets pending messages the stream removed from its front
// (a purge, limits, max age): there is nothing left to redeliver. mu is
// held.
func (c *consumer) dropPurged() {
	first := c.st.store.State().FirstSeq
	if first <= c.purgedBelow {
		return
	}
	c.purgedBelow = first
	for seq := range c.pending {
		if seq < first {
			delete(c.pending, seq)
			if c.log != nil {
				c.log.ack(seq)
			}
		}
	}
	c.dropReleased(first)
}

func (c *consumer) popRequest() {
	copy(c.waiting, c.waiting[1:])
	c.waiting[len(c.waiting)-1] = nil
	c.waiting = c.waiting[:len(c.waiting)-1]
}

// deliverySize is what a delivery counts against a request's max_bytes,
// but for its ack subject: subject, headers and payload, as clients count.
func deliverySize(m *store.StoredMsg, headersOnly bool) int {
	n := len(m.Subject) + len(m.Header)
	if !headersOnly {
		n += len(m.Data)
	}
	return n
}

// readAhead is how many matching messages peek reads at once.
const readAhead = 64

// peek returns the next message to deliver: a redelivery first, else the
// next matching message, while max_ack_pending allows and, under
// replay_policy original, once it is due. mu is held.
func (c *consumer) peek(now time.Time) (m store.StoredMsg, redelivery, ok bool) {
	for len(c.rdq) > 0 {
		seq := c.rdq[0]
		p := c.pending[seq]
		if p == nil || !p.queued {
			c.rdq = c.rdq[1:]
			continue
		}
		msg, err := c.st.store.Load(seq)
		if err != nil {
			// Removed from the stream meanwhile: nothing left to deliver.
			c.rdq = c.rdq[1:]
			delete(c.pending, seq)
			if c.log != nil {
				c.log.ack(seq)
			}
			continue
		}
		return msg, true, true
	}
	if len(c.rdq) == 0 && cap(c.rdq) > 1024 {
		c.rdq = nil
	}
	if c.cfg.AckPolicy != AckNone && len(c.pending) >= c.cfg.MaxAckPending {
		return m, false, false
	}
	c.dropRemovedAhead()
	if len(c.ahead) == 0 {
		c.readAhead()
	}
	if len(c.ahead) == 0 || !c.replayDue(&c.ahead[0], now) {
		return m, false, false
	}
	return c.ahead[0], false, true
}

// readAhead fills ahead with the next matching messages from sseq. mu is
// held.
func (c *consumer) readAhead() {
	state := c.st.store.State()
	c.aheadMark = markOf(state)
	from := max(c.sseq, state.FirstSeq)
	limit := state.LastSeq
	if c.counting() {
		limit = min(limit, c.counted)
	}
	if from > limit {
		return
	}
	last := from - 1
	c.st.store.Scan(from, func(m store.StoredMsg) bool {
		if m.Seq > limit {
			return false
		}
		last = m.Seq
		if !c.matches(m.Subject) {
			return true
		}
		if c.lps != nil && m.Seq <= c.lpsEnd && !c.inLPS(m.Seq) {
			return true // not counted either
		}
		c.ahead = append(c.ahead, m)
		return len(c.ahead) < readAhead
	})
	if len(c.ahead) == 0 {
		// Nothing matched up to last: skip it for good.
		c.sseq = max(c.sseq, last+1)
		if c.counting() && last >= limit {
			c.npend = 0
		}
	}
	if c.lps != nil && c.sseq > c.lpsEnd && (len(c.ahead) == 0 || c.ahead[0].Seq > c.lpsEnd) {
		c.lps = nil
	}
}

// dropRemovedAhead forgets the messages read ahead that the stream has
// removed since (deleted, purged, expired): they are not to be delivered.
// mu is held.
func (c *consumer) dropRemovedAhead() {
	if len(c.ahead) == 0 {
		return
	}
	mark := markOf(c.st.store.State())
	if mark == c.aheadMark {
		return
	}
	kept := c.ahead[:0]
	for _, m := range c.ahead {
		if c.st.store.Count(m.Seq, m.Seq) == 1 {
			kept = append(kept, m)
		}
	}
	clear(c.ahead[len(kept):])
	c.ahead = kept
	c.aheadMark = mark
}

// nextAckSubject returns the ack subject m is about to be delivered with.
// mu is held.
func (c *consumer) nextAckSubject(m *store.StoredMsg, redelivery bool, now time.Time) string {
	deliveries := uint64(1)
	if redelivery {
		if p := c.pending[m.Seq]; p != nil {
			deliveries = p.deliveries + 1
		}
	}
	// The pending figure counts what is left after this message. It is
	// counted once a round and then follows the round's deliveries.
	if !c.roundPendOK {
		c.roundPend, c.roundPendOK = c.pendingAfter(), true
	}
	pending := c.roundPend
	if !redelivery && pending > 0 {
		pending--
	}
	// Its timestamp is when the message was stored, as clients read it
	// into the message's metadata, however late or often it is delivered.
	return c.ackSubject(deliveries, m.Seq, c.dseq+1, m.Time, pending)
}

// commit delivers m to subject with the ack subject from nextAckSubject,
// and records the delivery. mu is held.
func (c *consumer) commit(m *store.StoredMsg, redelivery bool, subject, reply string, now time.Time) {
	if redelivery {
		c.rdq = c.rdq[1:]
	} else {
		c.ahead[0] = store.StoredMsg{}
		c.ahead = c.ahead[1:]
		if len(c.ahead) == 0 {
			c.ahead = c.ahead[:0:0]
		}
		c.sseq = m.Seq + 1
		if c.counting() && c.npend > 0 {
			c.npend--
		}
		if c.roundPendOK && c.roundPend > 0 {
			c.roundPend--
		}
		c.replayed(m, now)
	}
	c.dseq++
	c.lastDelivered = now
	ts := now.UnixNano()
	deliveries := uint64(1)
	if c.cfg.AckPolicy != AckNone {
		p := c.pending[m.Seq]
		if p == nil {
			p = c.newPending()
			c.pending[m.Seq] = p
		}
		p.deliveries++
		p.cseq, p.ts, p.queued = c.dseq, ts, false
		deliveries = p.deliveries
		if deliveries > 1 {
			c.redeliveries.Add(1)
		}
		c.setDeadline(m.Seq, p, ts+int64(c.cfg.ackWaitFor(p.deliveries)))
	}
	if c.log != nil {
		c.log.deliver(m.Seq, c.dseq, deliveries, ts)
	}
	if c.cfg.AckPolicy == AckNone {
		c.finished(m.Seq) // delivered is acked
	}
	hdr, data := m.Header, m.Data
	if c.cfg.HeadersOnly {
		hdr = headersOnly(hdr, len(data))
		data = nil
	}
	if c.emit != nil {
		c.emit(subject, m.Subject, reply, hdr, data)
	} else {
		c.js.bus.PublishAs(subject, m.Subject, reply, hdr, data)
	}
	if !c.cfg.isPull() {
		c.push.lastSent = ts
		c.push.msgs++
		c.push.bytes += len(m.Subject) + len(hdr) + len(data)
	}
}

// ackSubject builds the v1 ack reply subject of a delivery. The result
// lives in a buffer the next call overwrites: it is good for one publish,
// which copies it. mu is held.
func (c *consumer) ackSubject(deliveries, sseq, cseq uint64, ts int64, pending uint64) string {
	if len(c.ackPrefix) == 0 {
		c.ackPrefix = append(append(append(append([]byte(ackPrefix), c.st.name...), '.'), c.name...), '.')
	}
	b := append(c.ackBuf[:0], c.ackPrefix...)
	b = strconv.AppendUint(b, deliveries, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, sseq, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, cseq, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, pending, 10)
	c.ackBuf = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// pendingAfter is the num_pending figure of an ack subject. mu is held.
func (c *consumer) pendingAfter() uint64 {
	if c.counting() {
		return c.npend
	}
	return c.numPending()
}

// headersOnly returns the header block of a headers_only delivery: the
// message's headers plus its payload size.
func headersOnly(hdr []byte, size int) []byte {
	var h []byte
	if len(hdr) == 0 {
		h = protocol.AppendHeaderStart(nil, 0, "")
	} else {
		h = append(h, hdr[:len(hdr)-2]...) // drop the blank line
	}
	h = protocol.AppendHeaderField(h, hdrMsgSize, strconv.Itoa(size))
	return protocol.AppendHeaderEnd(h)
}
