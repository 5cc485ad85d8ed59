package jetstore

import (
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Inline rounds. A client that fetches and acks would otherwise wake the
// consumer's goroutine for every pull request and for every read buffer
// of acks: a goroutine hand-off (and often a thread wake-up) each. So an
// ack or pull request that comes from a client's socket is queued without
// waking the goroutine, and the consumer asks to be called back once the
// read buffer is handled (protocol.ReadEnds): the whole buffer's acks and
// requests then cost one round. If that read drained the socket, nobody
// holds the consumer's role and the round cannot fsync (roundMayFsync),
// the read loop runs the round itself, exactly as the goroutine would
// (round: acks, requests, deliveries, the state log's write), and writes
// a short batch of deliveries to the receiver's socket itself
// (NowDeliverer) instead of waking its writer; otherwise it wakes the
// goroutine once.
//
// A round that may fsync never runs inline, however quick the disk was
// so far: the connection's next bytes would wait for it. Nor does a
// round that may give up on a message (a -NAK, a +TERM, an ack wait that
// ran out), whose dead letter is stored and fsynced in another stream.

// inlineAcksMax is the most queued acks a read loop applies itself; more
// come from a burst that the goroutine takes as well, while the read
// loop parses on.
const inlineAcksMax = 1024

// deferToReadEnd reports whether sender will call the consumer back at
// the end of its read buffer (ReadEnd), so queueing work need not wake the
// goroutine. Only in the handler the message was delivered to.
func (c *consumer) deferToReadEnd(sender protocol.Sender) bool {
	re, ok := sender.(protocol.ReadEnds)
	return ok && re.AtReadEnd(c)
}

// ReadEnd implements protocol.ReadEndHook: the read buffer that queued
// acks or pull requests for the consumer is handled. Their round runs
// here when it may, else on the consumer's goroutine.
func (c *consumer) ReadEnd(drained bool) {
	if !drained || !c.role.TryLock() {
		c.in.signal()
		return
	}
	now := time.Now()
	c.mu.Lock()
	c.in.mu.Lock()
	if c.closed || len(c.in.acks) > inlineAcksMax || c.roundMayFsync(c.in.acks, now) {
		c.in.mu.Unlock()
		c.mu.Unlock()
		c.role.Unlock()
		c.in.signal()
		return
	}
	acks, reqs, fcs := c.in.take()
	c.in.mu.Unlock()
	c.onReader = true
	c.round(acks, reqs, fcs, now)
	c.onReader = false
	c.role.Unlock()
}

// roundMayFsync reports whether a round of work on acks at now could
// fsync: the state log's (an ack confirmation under SyncAlways, the sync
// interval, a compaction, a rewrite after a failure) or a dead-letter
// stream's. It errs on the side of yes. The role and mu are held.
func (c *consumer) roundMayFsync(acks []ackReq, now time.Time) bool {
	if len(c.due) > 0 && c.due[0].at <= now.UnixNano() {
		return true // a redelivery due may be one too many: a dead letter
	}
	l := c.log
	for i := range acks {
		switch a := &acks[i]; {
		case a.kind == ackNak || a.kind == ackTerm:
			return true // may give up on its message: a dead letter
		case a.reply != "" && l != nil && l.policy == SyncAlways:
			return true // its confirmation waits for an fsync
		}
	}
	if l == nil {
		return false
	}
	if c.fault != nil {
		return true // the next round may rewrite the state
	}
	if l.policy != SyncNever && now.Sub(l.lastSync) >= l.syncInterval() {
		return true // written records are due for their fsync
	}
	return l.size+int64(len(l.buf))+roundLogMax(len(acks)) > compactAt
}

// roundLogMax bounds the state log records one round with acks acks
// writes: a delivery record for each delivery it may make, an ack record
// for each ack.
func roundLogMax(acks int) int64 {
	const deliverRec = 8 + 1 + 4*10 // frame, type, four uvarints
	const ackRec = 8 + 1 + 10
	return maxDeliverPerWork*deliverRec + int64(acks)*ackRec
}
