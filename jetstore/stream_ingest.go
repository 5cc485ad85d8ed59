package jetstore

import (
	"encoding/json"
	"errors"
	"math"
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
	mu     sync.Mutex
	q      []*protocol.Msg
	spare  []*protocol.Msg
	bytes  int
	signal chan struct{}
}

func newIngestQueue() ingestQueue {
	return ingestQueue{signal: make(chan struct{}, 1)}
}

// push queues m; it reports false when the queue is full.
func (q *ingestQueue) push(m *protocol.Msg) bool {
	n := len(m.Subject) + len(m.Header) + len(m.Data)
	q.mu.Lock()
	if q.bytes+n > maxIngestBytes && len(q.q) > 0 {
		q.mu.Unlock()
		return false
	}
	q.q = append(q.q, m)
	q.bytes += n
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return true
}

// take returns everything queued.
func (q *ingestQueue) take() []*protocol.Msg {
	q.mu.Lock()
	msgs := q.q
	q.q = q.spare[:0]
	q.spare = nil
	q.bytes = 0
	q.mu.Unlock()
	return msgs
}

// recycle gives a drained slice back for reuse.
func (q *ingestQueue) recycle(msgs []*protocol.Msg) {
	clear(msgs)
	q.mu.Lock()
	if q.spare == nil && cap(msgs) <= 1<<16 {
		q.spare = msgs[:0]
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
	msgs := st.in.take()
	if len(msgs) == 0 {
		return false
	}
	for start := 0; start < len(msgs); {
		if isBatchMsg(msgs[start]) { // atomic batch publish (stream_batch.go)
			st.ingestAtomic(msgs[start], time.Now())
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
		start = end
	}
	st.in.recycle(msgs)
	return true
}

// storeBatch checks each message against the stream's rules, stores the
// accepted ones with one Append (one fsync), then answers every publisher.
// No PubAck leaves before the Append returns.
func (st *stream) storeBatch(msgs []*protocol.Msg) {
	cfg := st.config // only this goroutine changes it
	now := time.Now().UnixNano()
	state := st.store.State()
	last, count, bytes := state.LastSeq, state.Msgs, state.Bytes
	var storage uint64
	if st.js.cfg.MaxStorage > 0 && cfg.Storage == StorageFile {
		storage = st.js.storageUsed()
	}
	batch := st.batch[:0]
	results := st.results[:0]
	// Subjects and ids seen earlier in this batch.
	var batchSubj map[string]uint64
	var batchIDs map[string]uint64
	repl := subjectReplacer{st: st}

	for _, m := range msgs {
		r := ingestResult{reply: string(m.Reply), trace: m.Trace}
		if m.Trace != nil {
			r.traceSub = string(m.Subject)
		}
		size := uint64(len(m.Subject) + len(m.Header) + len(m.Data))
		subj := string(m.Subject)
		var e *APIError
		var id []byte
		switch {
		case cfg.MaxMsgSize >= 0 && len(m.Header)+len(m.Data) > int(cfg.MaxMsgSize):
			e = errMsgTooLarge()
		case m.Header != nil:
			id = protocol.HeaderGet(m.Header, hdrMsgID)
			if len(id) > 0 {
				if seq, ok := batchIDs[string(id)]; ok {
					r.seq, r.dup = seq, true
					break
				}
				st.mu.RLock()
				seq, ok := st.dedup.get(id, now-int64(cfg.Duplicates))
				st.mu.RUnlock()
				if ok {
					r.seq, r.dup = seq, true
					break
				}
			}
			e = st.checkHeaders(m, cfg, last, subj, batch, batchSubj, &r)
		}
		if e == nil && !r.dup && cfg.Discard == DiscardNew {
			// A message its subject's max_msgs_per_subject makes replace
			// the subject's oldest needs no room of its own.
			replaces := cfg.MaxMsgsPerSubject > 0 && !cfg.DiscardNewPerSubject &&
				st.subjectCount(subj, batchSubj) >= uint64(cfg.MaxMsgsPerSubject)
			var freed uint64
			if replaces {
				freed = repl.peek(subj)
			}
			switch {
			case cfg.MaxMsgs > 0 && !replaces && count+1 > uint64(cfg.MaxMsgs):
				e = errStoreFailed(errors.New("maximum messages exceeded"))
			case cfg.MaxBytes > 0 && bytes+size-freed > uint64(cfg.MaxBytes):
				e = errStoreFailed(errors.New("maximum bytes exceeded"))
			case cfg.DiscardNewPerSubject && st.subjectCount(subj, batchSubj) >= uint64(cfg.MaxMsgsPerSubject):
				e = errStoreFailed(errors.New("maximum messages per subject exceeded"))
			}
			if e == nil && replaces {
				repl.pop(subj)
				count--
				bytes -= freed
			}
		}
		if e == nil && !r.dup && st.js.cfg.MaxStorage > 0 && cfg.Storage == StorageFile &&
			storage+size > uint64(st.js.cfg.MaxStorage) {
			e = errStorageExceeded()
		}
		// The last sequence stays below MaxUint64, so that seq+1 never
		// wraps for a reader walking the stream.
		if e == nil && !r.dup && last >= math.MaxUint64-1 {
			e = errStoreFailed(errors.New("stream sequence space exhausted"))
		}
		if e != nil || r.dup {
			r.err = e
			results = append(results, r)
			continue
		}
		last++
		count++
		bytes += size
		storage += size
		r.seq = last
		r.subj = subj
		batch = append(batch, store.StoredMsg{Seq: last, Time: now, Subject: subj, Header: m.Header, Data: m.Data})
		if batchSubj == nil {
			batchSubj = make(map[string]uint64)
		}
		batchSubj[subj]++
		if cfg.Discard == DiscardNew && cfg.MaxMsgsPerSubject > 0 {
			repl.add(subj, size)
		}
		if len(id) > 0 {
			if batchIDs == nil {
				batchIDs = make(map[string]uint64)
			}
			batchIDs[string(id)] = last
		}
		results = append(results, r)
	}
	if st.commit != nil && !st.commit.decide(results) {
		batch = batch[:0] // an atomic batch is stored whole or not at all
	}

	if len(batch) > 0 {
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
			// A duplicate of a message earlier in this batch was not
			// stored either.
			for i := range results {
				if r := &results[i]; r.err == nil && (!r.dup || r.seq > state.LastSeq) {
					r.err = e
				}
			}
			batch = batch[:0]
		} else {
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
			if cfg.Retention == RetentionInterest {
				st.dropUnwanted(batch)
			}
		}
	}
	if st.commit != nil {
		results = st.commit.answer(results)
	}
	st.sendAcks(results)
	if len(batch) > 0 {
		st.notifyConsumers()
	}
	clear(batch)
	st.batch = batch[:0]
	st.results = results[:0]
}

// checkHeaders applies the Nats-Expected-* and other publish headers.
func (st *stream) checkHeaders(m *protocol.Msg, cfg StreamConfig, last uint64, subj string, batch []store.StoredMsg, batchSubj map[string]uint64, r *ingestResult) *APIError {
	h := m.Header
	if v := protocol.HeaderGet(h, hdrExpectedStream); len(v) > 0 && string(v) != st.name {
		return errStreamNotMatch()
	}
	if v := protocol.HeaderGet(h, hdrExpectedLastSeq); len(v) > 0 {
		if n, ok := parseUint(v); !ok || n != last {
			return errWrongLastSeq(last)
		}
	}
	if v := protocol.HeaderGet(h, hdrExpectedLastSubj); len(v) > 0 {
		s := subj
		if o := protocol.HeaderGet(h, hdrExpectedSubjSubj); len(o) > 0 {
			s = string(o)
		}
		var cur uint64
		if n := batchSubj[s]; n > 0 {
			cur = ^uint64(0) // stored earlier in this batch: never equal to what the client saw
			for i := len(batch) - 1; i >= 0; i-- {
				if batch[i].Subject == s {
					cur = batch[i].Seq
					break
				}
			}
		} else {
			_, cur = st.subjectBounds(s)
		}
		if n, ok := parseUint(v); !ok || n != cur {
			return errWrongLastSeq(cur)
		}
	}
	if v := protocol.HeaderGet(h, hdrExpectedLastID); len(v) > 0 {
		st.mu.RLock()
		lastID := st.lastMsgID
		st.mu.RUnlock()
		if string(v) != lastID {
			return errWrongLastMsgID(lastID)
		}
	}
	if v := protocol.HeaderGet(h, hdrTTL); len(v) > 0 {
		if !cfg.AllowMsgTTL {
			return errTTLDisabled()
		}
		if _, ok := parseTTL(v); !ok {
			return errTTLInvalid()
		}
	}
	if v := protocol.HeaderGet(h, hdrRollup); len(v) > 0 {
		if !cfg.AllowRollup {
			return errRollupDisabled()
		}
		switch string(v) {
		case "sub", "all":
			r.rollup = string(v)
		default:
			return errBadRequest("rollup value must be sub or all")
		}
	}
	return nil
}

// subjectCount returns how many messages subject has, counting this batch.
func (st *stream) subjectCount(subj string, batchSubj map[string]uint64) uint64 {
	st.mu.RLock()
	var n uint64
	if ss := st.subjects[subj]; ss != nil {
		n = ss.msgs
	}
	st.mu.RUnlock()
	return n + batchSubj[subj]
}

// sendAcks answers every publisher that gave a reply subject.
func (st *stream) sendAcks(results []ingestResult) {
	st.js.bus.PublishBatch(func(publish func(subject, reply string, header, data []byte) error) {
		st.sendAcksWith(results, publish)
	})
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
