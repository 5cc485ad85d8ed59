package jetstore

import (
	"errors"
	"math"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Admission decides, message by message, what a group commit stores: each
// published message is checked against the stream's rules (size, the
// Nats-Msg-Id duplicate window, the Nats-Expected-* headers, TTL and
// rollup headers, discard-new limits, the server's storage limit) as if
// the messages admitted before it in the batch were already stored.
// Nothing is stored here: commitBatch (stream_ingest.go) appends what was
// admitted as one unit. Writer goroutine only.

// The publish headers the stream acts on, in the order of pubHeaderNames.
const (
	phMsgID = iota
	phExpectedStream
	phExpectedLastSeq
	phExpectedLastSubj
	phExpectedSubjSubj
	phExpectedLastID
	phTTL
	phRollup
	numPubHeaders
)

var pubHeaderNames = []string{
	phMsgID:            hdrMsgID,
	phExpectedStream:   hdrExpectedStream,
	phExpectedLastSeq:  hdrExpectedLastSeq,
	phExpectedLastSubj: hdrExpectedLastSubj,
	phExpectedSubjSubj: hdrExpectedSubjSubj,
	phExpectedLastID:   hdrExpectedLastID,
	phTTL:              hdrTTL,
	phRollup:           hdrRollup,
}

// pubHeaders holds the first value of each publish header of one message,
// nil when absent, read in one pass over its header block. An empty value
// counts as absent.
type pubHeaders [numPubHeaders][]byte

func (h *pubHeaders) read(hdr []byte) {
	protocol.HeaderGetEach(hdr, pubHeaderNames, h[:])
}

// admission is one batch's admission: the stream's counters as if the
// messages admitted so far were stored, and what the batch holds.
type admission struct {
	st    *stream
	cfg   StreamConfig
	now   int64
	first uint64 // the stream's last sequence before the batch

	last, count, bytes uint64
	storage            uint64 // bytes of every stream of this storage type, when bounded
	limit              uint64 // the server's limit on them (limits.go), 0 for none

	batch   []store.StoredMsg // admitted, to be stored
	results []ingestResult    // one per message, in order
	subjs   map[string]uint64 // admitted messages per subject
	ids     map[string]uint64 // admitted message ids, with their sequences
	repl    subjectReplacer   // what per-subject limits push out
}

// admit checks msgs against the stream's rules into a: what to store and
// what to answer.
func (st *stream) admit(a *admission, msgs []*protocol.Msg) {
	state := st.store.State()
	*a = admission{
		st:      st,
		cfg:     st.config, // only this goroutine changes it
		now:     time.Now().UnixNano(),
		first:   state.LastSeq,
		last:    state.LastSeq,
		count:   state.Msgs,
		bytes:   state.Bytes,
		batch:   st.batch[:0],
		results: st.results[:0],
		subjs:   st.subjs,
		repl:    subjectReplacer{st: st},
	}
	st.subjs = nil
	if a.limit = uint64(st.js.lim.limitFor(a.cfg.Storage)); a.limit > 0 {
		a.storage = st.js.storageUsedFor(a.cfg.Storage, batchBytes(msgs))
	}
	for _, m := range msgs {
		a.admitOne(m)
	}
}

// admitOne decides one message: refused, a duplicate, or admitted.
func (a *admission) admitOne(m *protocol.Msg) {
	r := ingestResult{reply: string(m.Reply), trace: m.Trace}
	if m.Trace != nil {
		r.traceSub = string(m.Subject)
	}
	subj := a.st.subjectString(m.Subject)
	size := uint64(len(m.Subject) + len(m.Header) + len(m.Data))
	var h pubHeaders
	replaced, freed, err := a.check(m, subj, size, &h, &r)
	if err != nil || r.dup {
		r.err = err
		a.results = append(a.results, r)
		return
	}
	if replaced {
		a.repl.pop(subj)
		a.count--
		a.bytes -= freed
	}
	a.last++
	a.count++
	a.bytes += size
	a.storage += size
	r.seq = a.last
	r.subj = subj
	a.batch = append(a.batch, store.StoredMsg{Seq: a.last, Time: a.now, Subject: subj, Header: m.Header, Data: m.Data})
	if a.subjs == nil {
		a.subjs = make(map[string]uint64)
	}
	a.subjs[subj]++
	if a.cfg.Discard == DiscardNew && a.cfg.MaxMsgsPerSubject > 0 {
		a.repl.add(subj, size)
	}
	if id := h[phMsgID]; len(id) > 0 {
		if a.ids == nil {
			a.ids = make(map[string]uint64)
		}
		a.ids[string(id)] = a.last
	}
	a.results = append(a.results, r)
}

// check returns why m (on subj, counting size bytes) is refused, or nil;
// a duplicate sets r.seq and r.dup instead. It reads m's publish headers into h. When m is admitted
// only by pushing out its subject's oldest message (discard new with
// max_msgs_per_subject), replaced is set and freed is that message's size.
func (a *admission) check(m *protocol.Msg, subj string, size uint64, h *pubHeaders, r *ingestResult) (replaced bool, freed uint64, err *APIError) {
	cfg := &a.cfg
	if cfg.MaxMsgSize >= 0 && len(m.Header)+len(m.Data) > int(cfg.MaxMsgSize) {
		return false, 0, errMsgTooLarge()
	}
	if m.Header != nil {
		h.read(m.Header)
		if seq, ok := a.duplicate(h[phMsgID]); ok {
			r.seq, r.dup = seq, true
			return false, 0, nil
		}
		if e := a.checkHeaders(h, subj, r); e != nil {
			return false, 0, e
		}
	}
	if cfg.Discard == DiscardNew {
		if replaced, freed, err = a.checkDiscardNew(subj, size); err != nil {
			return false, 0, err
		}
	}
	if a.limit > 0 && a.storage+size > a.limit {
		return false, 0, errResourcesFor(cfg.Storage)
	}
	// The last sequence stays below MaxUint64, so that seq+1 never wraps
	// for a reader walking the stream.
	if a.last >= math.MaxUint64-1 {
		return false, 0, errStoreFailed(errors.New("stream sequence space exhausted"))
	}
	return replaced, freed, nil
}

// duplicate returns the sequence of the message that id already stored,
// earlier in this batch or within the duplicate window.
func (a *admission) duplicate(id []byte) (uint64, bool) {
	if len(id) == 0 {
		return 0, false
	}
	if seq, ok := a.ids[string(id)]; ok {
		return seq, true
	}
	a.st.mu.RLock()
	defer a.st.mu.RUnlock()
	return a.st.dedup.get(id, a.now-int64(a.cfg.Duplicates))
}

// checkDiscardNew refuses a message the stream's limits have no room for
// under discard new. A message its subject's max_msgs_per_subject makes
// replace the subject's oldest needs no room of its own: replaced is set,
// and freed is the size of the message it pushes out.
func (a *admission) checkDiscardNew(subj string, size uint64) (replaced bool, freed uint64, err *APIError) {
	cfg := &a.cfg
	perSubject := cfg.MaxMsgsPerSubject > 0 && a.subjectCount(subj) >= uint64(cfg.MaxMsgsPerSubject)
	replaced = perSubject && !cfg.DiscardNewPerSubject
	if replaced {
		freed = a.repl.peek(subj)
	}
	switch {
	case cfg.MaxMsgs > 0 && !replaced && a.count+1 > uint64(cfg.MaxMsgs):
		return false, 0, errStoreFailed(errors.New("maximum messages exceeded"))
	case cfg.MaxBytes > 0 && a.bytes+size-freed > uint64(cfg.MaxBytes):
		return false, 0, errStoreFailed(errors.New("maximum bytes exceeded"))
	case cfg.DiscardNewPerSubject && a.subjectCount(subj) >= uint64(cfg.MaxMsgsPerSubject):
		return false, 0, errStoreFailed(errors.New("maximum messages per subject exceeded"))
	}
	return replaced, freed, nil
}

// checkHeaders applies the Nats-Expected-*, TTL and rollup headers.
func (a *admission) checkHeaders(h *pubHeaders, subj string, r *ingestResult) *APIError {
	st, cfg := a.st, &a.cfg
	if v := h[phExpectedStream]; len(v) > 0 && string(v) != st.name {
		return errStreamNotMatch()
	}
	if v := h[phExpectedLastSeq]; len(v) > 0 {
		if n, ok := parseUint(v); !ok || n != a.last {
			return errWrongLastSeq(a.last)
		}
	}
	if v := h[phExpectedLastSubj]; len(v) > 0 {
		s := subj
		if o := h[phExpectedSubjSubj]; len(o) > 0 {
			s = string(o)
		}
		cur := a.lastOf(s)
		if n, ok := parseUint(v); !ok || n != cur {
			return errWrongLastSeq(cur)
		}
	}
	if v := h[phExpectedLastID]; len(v) > 0 {
		st.mu.RLock()
		lastID := st.lastMsgID
		st.mu.RUnlock()
		if string(v) != lastID {
			return errWrongLastMsgID(lastID)
		}
	}
	if v := h[phTTL]; len(v) > 0 {
		if !cfg.AllowMsgTTL {
			return errTTLDisabled()
		}
		if _, ok := parseTTL(v); !ok {
			return errTTLInvalid()
		}
	}
	if v := h[phRollup]; len(v) > 0 {
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

// lastOf returns the last sequence subject s has, for
// Nats-Expected-Last-Subject-Sequence, counting the messages admitted
// earlier in this batch.
func (a *admission) lastOf(s string) uint64 {
	if a.subjs[s] == 0 {
		_, last := a.st.subjectBounds(s)
		return last
	}
	for i := len(a.batch) - 1; i >= 0; i-- {
		if a.batch[i].Subject == s {
			return a.batch[i].Seq
		}
	}
	return ^uint64(0)
}

// subjectCount returns how many messages subject has, counting this batch.
func (a *admission) subjectCount(subj string) uint64 {
	a.st.mu.RLock()
	var n uint64
	if ss := a.st.subjects[subj]; ss != nil {
		n = ss.msgs
	}
	a.st.mu.RUnlock()
	return n + a.subjs[subj]
}

// maxReusedSubjects is the most subjects an admission's count of them may
// hold and still be kept for the next batch: a bigger map is left to the
// garbage collector rather than kept resident.
const maxReusedSubjects = 64

// doneAdmission keeps a's count of subjects for the next batch when it is
// small.
func (st *stream) doneAdmission(a *admission) {
	if len(a.subjs) <= maxReusedSubjects {
		clear(a.subjs)
		st.subjs = a.subjs
	}
}

// subjectString returns subj as a string, the one made for the previous
// message when it had the same subject: a publisher that keeps to one
// subject costs no new string each time. Writer role only.
func (st *stream) subjectString(subj []byte) string {
	if string(subj) != st.lastSubj {
		st.lastSubj = string(subj)
	}
	return st.lastSubj
}
