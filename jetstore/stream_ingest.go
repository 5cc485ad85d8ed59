package jetstore

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Ingest bounds: the bytes queued for one stream before publishes are
// refused, and what one group commit takes at most.
const (
	maxIngestBytes = 64 << 20
	maxBatchMsgs   = 4096
	maxBatchBytes  = 8 << 20
)

// ingestQueue holds published messages until the writer stores them.
type ingestQueue struct {
	mu sync.Mutex
	q  []*protocol.Msg
	// copies holds, beside each message of q, the reusable copy it is
	// the message of (stream_copy.go), nil for a message queued otherwise.
	copies      []*msgCopy
	spare       []*protocol.Msg
	spareCopies []*msgCopy
	bytes       int
	signal      chan struct{}
}

func newIngestQueue() ingestQueue {
	return ingestQueue{signal: make(chan struct{}, 1)}
}

// push queues m, the message of c when c is not nil; it reports false
// when the queue is full. Unless
// deferred, it wakes the writer; a deferred push leaves that to the end
// of the publisher's read buffer (stream_inline.go), but wakes the writer
// all the same once the queue holds more than deferMax messages, so a
// long read buffer of publishes is stored while the rest is parsed.
func (q *ingestQueue) push(m *protocol.Msg, c *msgCopy, deferred bool) bool {
	n := len(m.Subject) + len(m.Header) + len(m.Data)
	q.mu.Lock()
	if q.bytes+n > maxIngestBytes && len(q.q) > 0 {
		q.mu.Unlock()
		return false
	}
	q.q = append(q.q, m)
	q.copies = append(q.copies, c)
	q.bytes += n
	wake := !deferred || len(q.q) > deferMax
	q.mu.Unlock()
	if wake {
		q.wake()
	}
	return true
}

// len returns how many messages are queued.
func (q *ingestQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.q)
}

// wake tells the writer there is something to store.
func (q *ingestQueue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pushAll queues msgs in one piece, so that one take sees all of them
// (and the writer stores them with one append); it reports false, queuing
// none, when the queue has no room for them.
func (q *ingestQueue) pushAll(msgs []*protocol.Msg) bool {
	n := 0
	for _, m := range msgs {
		n += len(m.Subject) + len(m.Header) + len(m.Data)
	}
	q.mu.Lock()
	if q.bytes+n > maxIngestBytes && len(q.q) > 0 {
		q.mu.Unlock()
		return false
	}
	q.q = append(q.q, msgs...)
	for range msgs {
		q.copies = append(q.copies, nil)
	}
	q.bytes += n
	q.mu.Unlock()
	q.wake()
	return true
}

// take returns everything queued, and the copies beside it.
func (q *ingestQueue) take() ([]*protocol.Msg, []*msgCopy) {
	q.mu.Lock()
	msgs, copies := q.q, q.copies
	q.q, q.copies = q.spare[:0], q.spareCopies[:0]
	q.spare, q.spareCopies = nil, nil
	q.bytes = 0
	q.mu.Unlock()
	return msgs, copies
}

// recycle gives drained slices back for reuse.
func (q *ingestQueue) recycle(msgs []*protocol.Msg, copies []*msgCopy) {
	clear(msgs)
	clear(copies)
	q.mu.Lock()
	if q.spare == nil && cap(msgs) <= 1<<16 && cap(copies) <= 1<<16 {
		q.spare, q.spareCopies = msgs[:0], copies[:0]
	}
	q.mu.Unlock()
}

// ingestResult is the answer owed to one published message.
type ingestResult struct {
	reply string
	seq   uint64
	dup   bool
	err   *APIError
	// rollup is "sub" or "all" when the message asked for one.
	rollup string
	subj   string
	// batch and count answer the commit of an atomic batch.
	batch string
	count int
	// trace, when the message is traced, is told how the write went.
	trace    protocol.Tracer
	traceSub string
}

// drainIngest stores what is queued now, one group commit per batch, and
// reports whether there was anything. It takes the queue once: under a
// steady stream of publishes the writer must still get back to its other
// work (API operations, expiry) between takes.
func (st *stream) drainIngest() bool {
	msgs, copies := st.in.take()
	if len(msgs) == 0 {
		return false
	}
	for start := 0; start < len(msgs); {
		if isBatchMsg(msgs[start]) { // atomic batch publish (stream_batch.go)
			// An open batch keeps its messages: their copies are not
			// reused.
			st.ingestAtomic(msgs[start], time.Now())
			copies[start] = nil
			start++
			continue
		}
		end, size := start, 0
		for end < len(msgs) && end-start < maxBatchMsgs && (size < maxBatchBytes || end == start) && !isBatchMsg(msgs[end]) {
			m := msgs[end]
			size += len(m.Subject) + len(m.Header) + len(m.Data)
			end++
		}
		st.storeBatch(msgs[start:end])
		// Stored and answered: nothing refers to these copies now.
		for _, c := range copies[start:end] {
			if c != nil {
				c.release()
			}
		}
		start = end
	}
	st.in.recycle(msgs, copies)
	return true
}

// storeBatch stores one group commit: it admits each message against the
// stream's rules (stream_admit.go), stores the admitted ones with one
// Append (one fsync), then answers every publisher. No PubAck leaves
// before the Append returns.
func (st *stream) storeBatch(msgs []*protocol.Msg) {
	var a admission
	st.admit(&a, msgs)
	if st.commit != nil && !st.commit.decide(a.results) {
		a.batch = a.batch[:0] // an atomic batch is stored whole or not at all
	}
	stored := st.commitBatch(a.batch, a.results, a.first)
	results := a.results
	if st.commit != nil {
		results = st.commit.answer(results)
	}
	st.sendAcks(results)
	if stored {
		st.notifyConsumers()
	}
	clear(a.batch)
	clear(a.results)
	st.batch = a.batch[:0]
	st.results = a.results[:0]
	st.doneAdmission(&a)
}

// commitBatch appends the admitted messages as one unit and reports whether
// they were stored. Then, and only then, it indexes them and applies what
// storing them implies (rollups, limits, interest); otherwise every
// publisher of the batch is told why, those of duplicates of messages
// earlier in the batch included (first is the stream's last sequence
// before the batch).
func (st *stream) commitBatch(batch []store.StoredMsg, results []ingestResult, first uint64) bool {
	if len(batch) == 0 {
		return false
	}
	// A store that failed a write refuses writes until it recovers
	// (stream_fault.go); nothing of a refused batch is stored or
	// acknowledged.
	var e *APIError
	if st.fault != nil && st.storeWritable(time.Now()) != nil {
		e = st.storeRefused(len(batch))
	} else if err := st.store.Append(batch); err != nil {
		e = st.storeFailed("store messages", err, time.Now())
		if st.fault != nil {
			st.storeRefused(len(batch))
		}
	}
	if e != nil {
		for i := range results {
			if r := &results[i]; r.err == nil && (!r.dup || r.seq > first) {
				r.err = e
			}
		}
		return false
	}
	if st.fault != nil {
		st.storeOK(time.Now())
	}
	st.mu.Lock()
	for i := range batch {
		st.noteStored(&batch[i])
	}
	st.mu.Unlock()
	st.applyRollups(results)
	st.enforceLimits(batch)
	if st.config.Retention == RetentionInterest {
		st.dropUnwanted(batch)
	}
	return true
}

// sendAcks answers every publisher that gave a reply subject.
func (st *stream) sendAcks(results []ingestResult) {
	if st.ackFn == nil {
		st.ackFn = st.sendPending
	}
	st.pending = results
	st.js.bus.PublishBatch(st.ackFn)
	st.pending = nil
}

// sendPending answers the results sendAcks is sending; as a method value
// made once (ackFn) it costs a group commit no allocation.
func (st *stream) sendPending(publish func(subject, reply string, header, data []byte) error) {
	st.sendAcksWith(st.pending, publish)
}

func (st *stream) sendAcksWith(results []ingestResult, publish func(subject, reply string, header, data []byte) error) {
	for i := range results {
		r := &results[i]
		if r.trace != nil {
			var e string
			if r.err != nil {
				e = r.err.Description
			}
			r.trace.JetStream(st.name, r.traceSub, false, e)
			r.trace.Done()
			r.trace = nil
		}
		if r.reply == "" {
			continue
		}
		var b []byte
		if r.err != nil {
			b, _ = json.Marshal(&PubAck{Stream: st.name, Error: r.err})
		} else {
			b = st.ackBuf[:0]
			b = append(b, `{"stream":`...)
			b = appendJSONString(b, st.name)
			b = append(b, `,"seq":`...)
			b = strconv.AppendUint(b, r.seq, 10)
			if r.dup {
				b = append(b, `,"duplicate":true`...)
			}
			if r.batch != "" {
				b = append(b, `,"batch":`...)
				b = appendJSONString(b, r.batch)
				b = append(b, `,"count":`...)
				b = strconv.AppendInt(b, int64(r.count), 10)
			}
			b = append(b, '}')
			st.ackBuf = b
		}
		publish(r.reply, "", nil, b)
	}
}

// appendJSONString appends s as a JSON string. strconv.AppendQuote is JSON
// only for printable ASCII: it writes other runes as \x.. or \U........
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return strconv.AppendQuote(b, s)
}
