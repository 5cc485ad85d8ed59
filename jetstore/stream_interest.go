package jetstore

import (
	"github.com/wrenmq/wren/jetstore/store"
	"slices"
	"time"
)

// Interest retention (StreamConfig.Retention "interest"): a message stays
// while at least one consumer holds it and is removed once none does. A
// consumer holds a message when
//
//   - it has it pending (delivered, not acked yet), or gave up on it
//     (max deliveries) without that counting as done (see giveUp and
//     handleDeadLetters: the rule is the work-queue one), or
//   - its filters match the message's subject and it has not reached the
//     message yet (the sequence is at or past its next one), unless
//     last_per_subject skips it.
//
// So a consumer is done with a message it acked (under ack policy all,
// with every earlier one too), terminated or dead-lettered, with one it
// delivered under ack policy none, with those before its start (deliver
// new, last, by sequence or time) and with those its filters do not
// match. Whether a client is pulling or subscribed makes no difference.
//
// What a consumer holds only ever shrinks, but for a consumer being
// created or having its filters changed; both happen on the stream's
// writer goroutine, which is also the only place messages are removed.
// So the writer looking at each consumer in turn, one lock at a time,
// decides soundly: what no consumer holds when it looks will never be
// held again. Deciding costs O(consumers) per message, never a scan.
//
// The writer decides
//
//   - when a batch is stored: what no consumer holds goes before the
//     publishers get their PubAcks (which still carry the sequences);
//   - when a consumer is done with messages: it queues them on the
//     removal queue (consumer_wq.go), which the writer drains in batches;
//   - when a consumer is deleted (or expires) or its filters change: the
//     messages from the lowest it held on are looked at again, a chunk
//     per turn of the writer (rescan);
//   - when the stream opens: every message is looked at once against the
//     restored consumers, so that what all of them acked before a crash
//     or a stop (and what only consumers that did not survive it held) is
//     gone before the stream serves anyone.

// seqSubject names one stored message.
type seqSubject struct {
	seq  uint64
	subj string
}

// rescanChunk bounds the messages one turn of the writer looks at again.
const rescanChunk = 4096

// holds reports whether the consumer holds the message at seq with
// subject subj. mu is held.
func (c *consumer) holds(seq uint64, subj string) bool {
	if _, ok := c.pending[seq]; ok {
		return true
	}
	if _, ok := c.held[seq]; ok {
		return true
	}
	if seq < c.sseq || !c.matches(subj) {
		return false
	}
	return c.lps == nil || seq > c.lpsEnd || c.inLPS(seq)
}

// interestFloor returns the lowest sequence the consumer may hold. mu is
// held.
func (c *consumer) interestFloor() uint64 {
	f := c.sseq
	for seq := range c.pending {
		f = min(f, seq)
	}
	for seq := range c.held {
		f = min(f, seq)
	}
	return f
}

// finished notes that the consumer is done with seq, for the stream to remove
// it once no other consumer holds it (interest) or at once (work queue).
// mu is held.
func (c *consumer) finished(seq uint64) {
	if c.retention != RetentionLimits {
		c.removed = append(c.removed, seq)
	}
}

// hold keeps a message the consumer gave up on until handleDeadLetters
// says whether that counts as done: its hold is logged before the ack
// that ends its pending state, so a crash in between keeps it rather than
// lose it. mu is held.
func (c *consumer) hold(seq uint64) {
	if c.retention != RetentionInterest {
		return
	}
	if c.held == nil {
		c.held = make(map[uint64]struct{})
	}
	c.held[seq] = struct{}{}
	if c.log != nil {
		c.log.hold(seq)
	}
}

// release ends the holds of messages the consumer gave up on that count
// as done (terminated, or stored in the dead-letter stream). Consumer
// goroutine, mu not held.
func (c *consumer) release(seqs []uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, seq := range seqs {
		if _, ok := c.held[seq]; !ok {
			continue
		}
		delete(c.held, seq)
		if c.log != nil {
			c.log.release(seq)
		}
	}
}

// dropReleased forgets the holds of messages the stream removed from its
// front. mu is held.
func (c *consumer) dropReleased(first uint64) {
	for seq := range c.held {
		if seq < first {
			delete(c.held, seq)
			if c.log != nil {
				c.log.release(seq)
			}
		}
	}
}

// dropUnheld removes the messages of msgs, all stored, that no consumer
// holds. It fails only when the store takes no writes. Writer goroutine
// (or openStream, before the writer starts).
func (st *stream) dropUnheld(msgs []seqSubject) error {
	if len(msgs) == 0 {
		return nil
	}
	st.mu.RLock()
	cs := make([]*consumer, 0, len(st.consumers))
	for _, c := range st.consumers {
		cs = append(cs, c)
	}
	st.mu.RUnlock()
	keep := make([]bool, len(msgs))
	left := len(msgs)
	for _, c := range cs {
		c.mu.Lock()
		for i := range msgs {
			if !keep[i] && c.holds(msgs[i].seq, msgs[i].subj) {
				keep[i] = true
				left--
			}
		}
		c.mu.Unlock()
		if left == 0 {
			return nil
		}
	}
	gone := msgs[:0:0]
	for i := range msgs {
		if !keep[i] {
			gone = append(gone, msgs[i])
		}
	}
	_, err := st.deleteFound(gone)
	return err
}

// dropUnwanted removes the messages of a batch just stored that no
// consumer holds (those limits or rollups left). Writer goroutine.
func (st *stream) dropUnwanted(batch []store.StoredMsg) {
	msgs := make([]seqSubject, 0, len(batch))
	for i := range batch {
		if seq := batch[i].Seq; st.store.Count(seq, seq) == 1 {
			msgs = append(msgs, seqSubject{seq, batch[i].Subject})
		}
	}
	if err := st.dropUnheld(msgs); err != nil {
		st.retryInterest(msgs)
	}
}

// retryInterest queues msgs for the writer's next tick to decide again,
// once the store takes writes (any other failure was logged).
func (st *stream) retryInterest(msgs []seqSubject) {
	if st.fault == nil {
		return
	}
	st.rm.mu.Lock()
	for _, m := range msgs {
		st.rm.seqs = append(st.rm.seqs, m.seq)
	}
	st.rm.mu.Unlock()
}

// drainInterest decides on the sequences consumers are done with, then
// looks again at a chunk of what a rescan asks for. Writer goroutine.
func (st *stream) drainInterest(seqs []uint64) {
	if len(seqs) > 0 {
		slices.Sort(seqs)
		seqs = slices.Compact(seqs)
		msgs := make([]seqSubject, 0, len(seqs))
		for _, seq := range seqs {
			if m, err := st.store.Load(seq); err == nil {
				msgs = append(msgs, seqSubject{seq, m.Subject})
			}
		}
		if err := st.dropUnheld(msgs); err != nil {
			st.retryInterest(msgs)
		}
	}
	st.rescanStep()
}

// requestRescan asks the writer to look again at every message from
// seq on; signal wakes it for that at once, else its tick does.
func (st *stream) requestRescan(from uint64, signal bool) {
	from = max(from, 1)
	st.rm.mu.Lock()
	if st.rm.rescan == 0 || from < st.rm.rescan {
		st.rm.rescan = from
	}
	st.rm.mu.Unlock()
	if signal {
		select {
		case st.rm.signal <- struct{}{}:
		default:
		}
	}
}

// rescanStep looks again at one chunk of the messages a rescan asks for
// and reports whether more are left (the writer is signalled for them).
// Writer goroutine (or openStream, before the writer starts).
func (st *stream) rescanStep() bool {
	st.rm.mu.Lock()
	from := st.rm.rescan
	st.rm.rescan = 0
	st.rm.mu.Unlock()
	if from == 0 {
		return false
	}
	if st.storeWritable(time.Now()) != nil {
		st.requestRescan(from, false)
		return false
	}
	var msgs []seqSubject
	var next uint64
	st.store.Scan(from, func(m store.StoredMsg) bool {
		if len(msgs) == rescanChunk {
			next = m.Seq
			return false
		}
		msgs = append(msgs, seqSubject{m.Seq, m.Subject})
		return true
	})
	if err := st.dropUnheld(msgs); err != nil {
		if st.fault != nil { // else it was logged
			st.requestRescan(from, false)
		}
		return false
	}
	if next == 0 {
		return false
	}
	st.requestRescan(next, true)
	return true
}

// reconcileInterest removes, as an interest stream opens, every message
// its restored consumers do not hold. A store that takes no writes leaves
// the rest to the writer's tick.
func (st *stream) reconcileInterest() {
	if st.config.Retention != RetentionInterest {
		return
	}
	st.requestRescan(st.store.State().FirstSeq, false)
	for st.rescanStep() {
	}
}

// consumerGone gives up what a deleted consumer held. c has stopped.
func (st *stream) consumerGone(c *consumer) {
	if st.cfg().Retention != RetentionInterest {
		return
	}
	c.mu.Lock()
	from := c.interestFloor()
	c.mu.Unlock()
	st.requestRescan(from, true)
}
