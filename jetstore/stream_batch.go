package jetstore

import (
	"bytes"
	"strconv"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Atomic batch publish, as NATS 2.12 defines it: on a stream with
// allow_atomic, a publisher sends messages carrying Nats-Batch-Id and
// Nats-Batch-Sequence (1, 2, 3, ...), the last one also Nats-Batch-Commit
// ("1", or "eob" for an end marker that is not stored itself). The stream
// stages them and, at the commit, checks the whole batch against its rules
// and stores all of it with one Append (one fsync) or none of it. Only the
// commit gets a PubAck, naming the batch, its message count and the
// sequence of its last message; a staged message that asked for an answer
// gets an empty one.
//
// Staging happens on the stream's writer goroutine, in memory: a batch
// that is not committed is not acknowledged, so one that a restart loses
// was never promised to anyone, and its commit is refused as incomplete.

const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
)

// Atomic batch limits. The message count, inflight limits and idle
// timeout are the reference server's defaults; the byte bounds keep the
// staged messages of a gateway's stream within what its ingest queue may
// hold, and one batch within one store block.
const (
	maxBatchIDLen         = 64
	maxAtomicBatchMsgs    = 1000
	maxAtomicBatchBytes   = store.MaxBlockSize / 2
	maxAtomicStagedBytes  = maxIngestBytes
	maxAtomicBatchesOpen  = 50   // per stream
	maxAtomicBatchesTotal = 1000 // per server
	atomicBatchIdle       = 10 * time.Second
)

// atomicBatch is one batch being staged.
type atomicBatch struct {
	msgs  []*protocol.Msg
	bytes int
	last  time.Time // when its latest message arrived
}

// atomicBatches is a stream's open batches. Writer goroutine only; nil
// until the stream sees its first batch.
type atomicBatches struct {
	open  map[string]*atomicBatch
	bytes int // staged in all of them
}

// atomicCommit is the batch storeBatch is committing: it then stores all
// of the messages or none, and answers only the commit.
type atomicCommit struct {
	id    string
	reply string
	count int
}

// isBatchMsg reports whether m is part of an atomic batch.
func isBatchMsg(m *protocol.Msg) bool {
	return m.Header != nil && protocol.HeaderGet(m.Header, hdrBatchID) != nil
}

// ingestAtomic stages or commits one message of an atomic batch.
func (st *stream) ingestAtomic(m *protocol.Msg, now time.Time) {
	cfg := st.config
	reply := string(m.Reply)
	id := string(protocol.HeaderGet(m.Header, hdrBatchID))
	// Any failure ends the batch: it can no longer be committed whole. An
	// open batch ended this way is advised, too large or incomplete.
	fail := func(e *APIError) {
		if st.dropAtomic(id) {
			reason := batchIncomplete
			if e.ErrCode == errAtomicTooLarge("").ErrCode {
				reason = batchLarge
			}
			st.adviseAbandoned(id, reason)
		}
		st.answerAtomic(reply, ingestResult{err: e})
	}
	if cfg.MaxMsgSize >= 0 && len(m.Header)+len(m.Data) > int(cfg.MaxMsgSize) {
		fail(errMsgTooLarge())
		return
	}
	if !cfg.AllowAtomic {
		fail(errAtomicDisabled())
		return
	}
	if id == "" || len(id) > maxBatchIDLen {
		fail(errAtomicBatchID())
		return
	}
	seq, ok := parseUint(protocol.HeaderGet(m.Header, hdrBatchSeq))
	if !ok || seq == 0 {
		fail(errAtomicMissingSeq())
		return
	}
	var commit, eob bool
	if c := protocol.HeaderGet(m.Header, hdrBatchCommit); c != nil {
		commit, eob = true, string(c) == "eob"
		if !eob && string(c) != "1" {
			fail(errAtomicCommit())
			return
		}
	}
	size := seq
	if eob {
		size-- // the end marker is not part of the batch
	}
	// As nats-server checks: a gap first, then the size.
	tooLarge := size > maxAtomicBatchMsgs

	bs := st.batches
	b := bs.get(id)
	if b == nil {
		if seq != 1 {
			if tooLarge {
				fail(errAtomicTooLarge(strconv.Itoa(maxAtomicBatchMsgs)))
				return
			}
			fail(errAtomicIncomplete())
			return
		}
		if bs != nil && len(bs.open) >= maxAtomicBatchesOpen {
			fail(errAtomicInflight())
			return
		}
		if st.js.atomicOpen.Add(1) > maxAtomicBatchesTotal {
			st.js.atomicOpen.Add(-1)
			fail(errAtomicInflight())
			return
		}
		if bs == nil {
			bs = &atomicBatches{open: make(map[string]*atomicBatch)}
			st.batches = bs
		}
		b = &atomicBatch{}
		bs.open[id] = b
	}
	if uint64(len(b.msgs))+1 != seq || (seq == 1 && eob) {
		fail(errAtomicIncomplete())
		return
	}
	if tooLarge {
		fail(errAtomicTooLarge(strconv.Itoa(maxAtomicBatchMsgs)))
		return
	}
	b.last = now
	if !eob {
		n := len(m.Subject) + len(m.Header) + len(m.Data)
		if b.bytes+n > maxAtomicBatchBytes || bs.bytes+n > maxAtomicStagedBytes {
			fail(errAtomicTooLarge(strconv.Itoa(maxAtomicBatchBytes>>20) + " MiB"))
			return
		}
		b.bytes += n
		bs.bytes += n
		if commit {
			m.Reply = nil // the commit's answer is the batch's
		}
		b.msgs = append(b.msgs, m)
	}
	if !commit {
		if reply != "" {
			st.js.bus.Publish(reply, "", nil, nil)
		}
		return
	}

	msgs := b.msgs
	st.dropAtomic(id)
	for _, sm := range msgs {
		if protocol.HeaderGet(sm.Header, hdrExpectedLastID) != nil {
			st.answerAtomic(reply, ingestResult{err: errAtomicUnsupportedHeader(hdrExpectedLastID)})
			return
		}
	}
	if eob {
		// What is stored says where the batch ended, as with "1".
		lm := msgs[len(msgs)-1]
		lm.Header = appendHeaderLine(lm.Header, hdrBatchCommit, "1")
	}
	st.commit = &atomicCommit{id: id, reply: reply, count: len(msgs)}
	st.storeBatch(msgs)
	st.commit = nil
}

// get returns the open batch id, nil if there is none.
func (bs *atomicBatches) get(id string) *atomicBatch {
	if bs == nil {
		return nil
	}
	return bs.open[id]
}

// dropAtomic forgets batch id and what it staged, and reports whether it
// was open.
func (st *stream) dropAtomic(id string) bool {
	bs := st.batches
	b := bs.get(id)
	if b == nil {
		return false
	}
	bs.bytes -= b.bytes
	delete(bs.open, id)
	st.js.atomicOpen.Add(-1)
	if len(bs.open) == 0 {
		st.batches = nil
	}
	return true
}

// expireAtomic abandons batches idle for longer than atomicBatchIdle, and
// every open batch once the stream no longer allows atomic publish.
func (st *stream) expireAtomic(now time.Time) {
	bs := st.batches
	if bs == nil {
		return
	}
	all := !st.config.AllowAtomic
	for id, b := range bs.open {
		switch {
		case now.Sub(b.last) > atomicBatchIdle:
			st.dropAtomic(id)
			st.adviseAbandoned(id, batchTimeout)
		case all:
			st.dropAtomic(id)
			st.adviseAbandoned(id, batchUnsupported)
		}
	}
}

// dropAllAtomic abandons every open batch; the stream is stopping.
func (st *stream) dropAllAtomic() {
	if bs := st.batches; bs != nil {
		for id := range bs.open {
			st.dropAtomic(id)
		}
	}
}

// answerAtomic sends one answer about a batch.
func (st *stream) answerAtomic(reply string, r ingestResult) {
	if reply == "" {
		return
	}
	r.reply = reply
	st.sendAcks([]ingestResult{r})
}

// decide is called by storeBatch once every message of the batch has been
// checked: an atomic batch is stored only if every one of its messages may
// be. A duplicate refuses the batch too. It reports whether to store.
func (c *atomicCommit) decide(results []ingestResult) bool {
	for i := range results {
		r := &results[i]
		if r.err == nil && r.dup {
			r.err = errAtomicDuplicate()
		}
		if r.err != nil {
			e := r.err
			for j := range results {
				results[j].err = e
			}
			return false
		}
	}
	return true
}

// answer turns the per-message results of the committed batch into the
// commit's one PubAck: the batch's first error, or the sequence of its
// last message with the batch id and count.
func (c *atomicCommit) answer(results []ingestResult) []ingestResult {
	r := ingestResult{reply: c.reply, batch: c.id, count: c.count}
	for i := range results {
		if results[i].err != nil {
			r = ingestResult{reply: c.reply, err: results[i].err}
			break
		}
		r.seq = results[i].seq
	}
	results = results[:1]
	results[0] = r
	return results
}

// appendHeaderLine returns hdr with one more field, in a new slice.
func appendHeaderLine(hdr []byte, name, value string) []byte {
	body, ok := bytes.CutSuffix(hdr, []byte("\r\n\r\n"))
	if !ok {
		return hdr
	}
	out := make([]byte, 0, len(hdr)+len(name)+len(value)+4)
	out = append(out, body...)
	out = append(out, "\r\n"...)
	out = protocol.AppendHeaderField(out, name, value)
	return protocol.AppendHeaderEnd(out)
}
