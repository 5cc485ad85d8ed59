package jetstore

import (
	"container/heap"
	"errors"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// The functions in this file run on the stream's writer goroutine.

// enforceLimits removes what the stream's limits no longer allow after a
// batch was stored: the oldest messages of a subject over its
// max_msgs_per_subject, then the oldest messages over max_msgs or
// max_bytes.
func (st *stream) enforceLimits(batch []store.StoredMsg) {
	cfg := st.config
	if cfg.MaxMsgsPerSubject > 0 && !cfg.DiscardNewPerSubject {
		seen := make(map[string]struct{}, 4)
		var del []uint64
		for i := range batch {
			subj := batch[i].Subject
			if _, ok := seen[subj]; ok {
				continue
			}
			seen[subj] = struct{}{}
			del = append(del, st.trimSubject(subj, uint64(cfg.MaxMsgsPerSubject))...)
		}
		if len(del) > 0 {
			if err := st.store.Delete(del...); err != nil {
				st.storeFailed("apply max_msgs_per_subject", err, time.Now())
				st.rebuildAfterFailure()
			}
		}
	}
	st.trimFront(cfg)
}

// trimSubject picks the messages of subj to delete so that max remain, and
// updates the subject index for them.
func (st *stream) trimSubject(subj string, max uint64) []uint64 {
	st.mu.RLock()
	ss := st.subjects[subj]
	if ss == nil || ss.msgs <= max {
		st.mu.RUnlock()
		return nil
	}
	n, first, last, lo := ss.msgs, ss.first, ss.last, ss.lo
	st.mu.RUnlock()
	k := n - max
	if k == 1 && max == 1 && first != 0 && last != 0 {
		st.mu.Lock()
		if ss := st.subjects[subj]; ss != nil {
			ss.msgs--
			ss.first, ss.lo = last, last
			st.removals++
		}
		st.mu.Unlock()
		return []uint64{first}
	}
	from := first
	if from == 0 {
		from = st.store.State().FirstSeq
		if lo > from {
			from = lo
		}
	}
	var del []uint64
	var next uint64
	st.store.Scan(from, func(m store.StoredMsg) bool {
		if m.Subject != subj {
			return true
		}
		if uint64(len(del)) < k {
			del = append(del, m.Seq)
			return true
		}
		next = m.Seq
		return false
	})
	st.mu.Lock()
	if ss := st.subjects[subj]; ss != nil {
		ss.msgs -= uint64(len(del))
		ss.first = next
		if next != 0 {
			ss.lo = next
		} else if len(del) > 0 && del[len(del)-1]+1 > ss.lo {
			ss.lo = del[len(del)-1] + 1
		}
		st.removals++
	}
	st.mu.Unlock()
	return del
}

// trimAllSubjects deletes the oldest messages of every subject holding more
// than max, as when an update lowers max_msgs_per_subject.
func (st *stream) trimAllSubjects(max uint64) {
	over := make(map[string]uint64)
	st.mu.RLock()
	for subj, ss := range st.subjects {
		if ss.msgs > max {
			over[subj] = ss.msgs - max
		}
	}
	st.mu.RUnlock()
	if len(over) == 0 {
		return
	}
	var del []uint64
	st.store.Scan(st.store.State().FirstSeq, func(m store.StoredMsg) bool {
		if n := over[m.Subject]; n > 0 {
			del = append(del, m.Seq)
			over[m.Subject] = n - 1
		}
		return true
	})
	if _, err := st.deleteSeqs(del); err != nil && st.fault == nil {
		st.js.log.Error("apply max_msgs_per_subject", "stream", st.name, "error", err)
	}
}

// subjectReplacer tells discard new, during one batch, which message each
// new message of a subject at its max_msgs_per_subject pushes out, so that
// a full stream still takes a message that only replaces an older one of
// its subject (as a key-value bucket at its size limit takes an update).
type subjectReplacer struct {
	st   *stream
	subj map[string]*replaceQueue
}

// replaceQueue is one subject's messages in the order they will go.
type replaceQueue struct {
	loaded   bool   // stored and from are set
	stored   uint64 // stored messages not yet pushed out
	from     uint64 // where the next of them is looked for
	next     uint64 // its size, when haveNext
	haveNext bool
	sizes    []uint64 // sizes of this batch's messages, oldest first
}

func (r *subjectReplacer) queue(subj string) *replaceQueue {
	q := r.subj[subj]
	if q == nil {
		if r.subj == nil {
			r.subj = make(map[string]*replaceQueue)
		}
		q = &replaceQueue{}
		r.subj[subj] = q
	}
	return q
}

// peek returns the size of the subject's next message to go, 0 if none.
func (r *subjectReplacer) peek(subj string) uint64 {
	q := r.queue(subj)
	if !q.loaded {
		q.loaded = true
		r.st.mu.RLock()
		if ss := r.st.subjects[subj]; ss != nil {
			q.stored = ss.msgs
		}
		r.st.mu.RUnlock()
		if q.stored > 0 {
			q.from, _ = r.st.subjectBounds(subj)
		}
	}
	if q.stored > 0 && !q.haveNext && q.from > 0 {
		r.st.store.Scan(q.from, func(m store.StoredMsg) bool {
			if m.Subject != subj {
				return true
			}
			q.next, q.from, q.haveNext = m.Size(), m.Seq+1, true
			return false
		})
		if !q.haveNext {
			q.stored = 0
		}
	}
	switch {
	case q.haveNext:
		return q.next
	case len(q.sizes) > 0:
		return q.sizes[0]
	}
	return 0
}

// pop pushes out the message peek names.
func (r *subjectReplacer) pop(subj string) {
	r.peek(subj)
	q := r.subj[subj]
	switch {
	case q.haveNext:
		q.stored--
		q.haveNext = false
	case len(q.sizes) > 0:
		q.sizes = q.sizes[1:]
	}
}

// add notes a message of subj accepted into the batch.
func (r *subjectReplacer) add(subj string, size uint64) {
	q := r.queue(subj)
	q.sizes = append(q.sizes, size)
}

// trimFront drops the oldest messages while max_msgs or max_bytes is
// exceeded. A store that takes no writes is trimmed once it recovers.
func (st *stream) trimFront(cfg StreamConfig) {
	if st.storeWritable(time.Now()) != nil {
		return
	}
	state := st.store.State()
	if !overLimits(state.Msgs, state.Bytes, cfg.MaxMsgs, cfg.MaxBytes) {
		return
	}
	st.trimFrontOver(state, cfg.MaxMsgs, cfg.MaxBytes)
}

// overLimits reports whether msgs or bytes exceed max_msgs or max_bytes
// (zero or less for none).
func overLimits(msgs, bytes uint64, maxMsgs, maxBytes int64) bool {
	return (maxMsgs > 0 && msgs > uint64(maxMsgs)) || (maxBytes > 0 && bytes > uint64(maxBytes))
}

// trimFrontOver does trimFront's work once the stream is over a limit: a
// function of its own, so that the scan's closure (which escapes) costs
// nothing to the publishes that stay within the limits.
func (st *stream) trimFrontOver(state store.StoreState, maxMsgs, maxBytes int64) {
	msgs, bytes := state.Msgs, state.Bytes
	cut := state.FirstSeq
	st.mu.Lock()
	st.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
		if !overLimits(msgs, bytes, maxMsgs, maxBytes) {
			cut = m.Seq
			return false
		}
		msgs--
		bytes -= uint64(len(m.Subject) + len(m.Header) + len(m.Data))
		st.noteRemoved(m.Subject, m.Seq)
		cut = m.Seq + 1
		return true
	})
	st.mu.Unlock()
	if err := st.store.TruncateFront(cut); err != nil {
		st.storeFailed("apply stream limits", err, time.Now())
		st.rebuildAfterFailure()
	} else {
		st.storeOK(time.Now())
	}
}

// applyRollups carries out Nats-Rollup requests of a stored batch.
func (st *stream) applyRollups(results []ingestResult) {
	for i := range results {
		r := &results[i]
		if r.rollup == "" || r.err != nil || r.dup {
			continue
		}
		switch r.rollup {
		case "all":
			if err := st.store.TruncateFront(r.seq); err != nil {
				st.storeFailed("rollup", err, time.Now())
			}
			st.rebuildAfterFailure() // cheap: only what follows the rollup remains
		case "sub":
			first, _ := st.subjectBounds(r.subj)
			var del []uint64
			if first != 0 && first < r.seq {
				st.store.Scan(first, func(m store.StoredMsg) bool {
					if m.Seq >= r.seq {
						return false
					}
					if m.Subject == r.subj {
						del = append(del, m.Seq)
					}
					return true
				})
			}
			if len(del) > 0 {
				st.deleteSeqs(del)
			}
		}
	}
}

// deleteSeqs deletes whichever of seqs are still stored and updates the
// indexes; it returns how many it deleted. A store that takes no writes
// deletes nothing and says why.
func (st *stream) deleteSeqs(seqs []uint64) (uint64, error) {
	if err := st.storeWritable(time.Now()); err != nil {
		return 0, storageError(st.fault.cause)
	}
	var found []seqSubject
	for _, seq := range seqs {
		m, err := st.store.Load(seq)
		if err != nil {
			continue
		}
		found = append(found, seqSubject{seq, m.Subject})
	}
	return st.deleteFound(found)
}

// deleteFound deletes messages known to be stored, with their subjects,
// and updates the indexes; it returns how many it deleted. A store that
// takes no writes deletes nothing and says why.
func (st *stream) deleteFound(found []seqSubject) (uint64, error) {
	if err := st.storeWritable(time.Now()); err != nil {
		return 0, storageError(st.fault.cause)
	}
	const chunk = 32 << 10
	seqs := make([]uint64, 0, min(len(found), chunk))
	for start := 0; start < len(found); start += chunk {
		end := min(start+chunk, len(found))
		seqs = seqs[:0]
		for _, g := range found[start:end] {
			seqs = append(seqs, g.seq)
		}
		if err := st.store.Delete(seqs...); err != nil {
			if errors.Is(err, store.ErrMsgNotFound) {
				continue
			}
			st.storeFailed("delete messages", err, time.Now())
			st.rebuildAfterFailure()
			if st.fault != nil {
				err = storageError(st.fault.cause)
			}
			return uint64(start), err
		}
		st.storeOK(time.Now())
		st.mu.Lock()
		for _, g := range found[start:end] {
			st.noteRemoved(g.subj, g.seq)
		}
		st.mu.Unlock()
	}
	return uint64(len(found)), nil
}

// expire applies max_age, per-message TTLs and the duplicate window.
// Removals wait while the store takes no writes.
func (st *stream) expire(now time.Time) {
	cfg := st.config
	st.mu.Lock()
	st.dedup.expire(now.Add(-cfg.Duplicates).UnixNano())
	st.mu.Unlock()
	if st.storeWritable(now) != nil {
		return
	}
	st.mu.Lock()
	var due []uint64
	for len(st.ttls) > 0 && st.ttls[0].at <= now.UnixNano() {
		due = append(due, heap.Pop(&st.ttls).(ttlEntry).seq)
	}
	st.mu.Unlock()
	if len(due) > 0 {
		st.deleteSeqs(due)
	}
	if cfg.MaxAge > 0 {
		cutoff := now.Add(-cfg.MaxAge).UnixNano()
		state := st.store.State()
		if state.Msgs == 0 || state.FirstTime >= cutoff {
			return
		}
		cut := state.FirstSeq
		st.mu.Lock()
		st.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
			if m.Time >= cutoff {
				cut = m.Seq
				return false
			}
			st.noteRemoved(m.Subject, m.Seq)
			cut = m.Seq + 1
			return true
		})
		st.mu.Unlock()
		if err := st.store.TruncateFront(cut); err != nil {
			st.storeFailed("apply max_age", err, now)
			st.rebuildAfterFailure()
		} else {
			st.storeOK(now)
		}
		st.notifyConsumers()
	}
}

// purge removes messages as a STREAM.PURGE request asks and returns how
// many it removed.
func (st *stream) purge(req streamPurgeRequest) (uint64, error) {
	if err := st.storeWritable(time.Now()); err != nil {
		return 0, storageError(st.fault.cause)
	}
	state := st.store.State()
	if req.Subject == "" || req.Subject == ">" {
		var cut uint64
		switch {
		case req.Sequence > 0:
			cut = min(req.Sequence, state.LastSeq+1)
		case req.Keep > 0:
			if state.Msgs <= req.Keep {
				return 0, nil
			}
			skip := state.Msgs - req.Keep
			st.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
				if skip == 0 {
					cut = m.Seq
					return false
				}
				skip--
				return true
			})
		default:
			cut = state.LastSeq + 1
		}
		if cut <= state.FirstSeq {
			return 0, nil
		}
		st.mu.Lock()
		if cut > state.LastSeq {
			st.subjects = make(map[string]*subjectState)
		} else {
			st.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
				if m.Seq >= cut {
					return false
				}
				st.noteRemoved(m.Subject, m.Seq)
				return true
			})
		}
		st.mu.Unlock()
		if err := st.store.TruncateFront(cut); err != nil {
			st.storeFailed("purge", err, time.Now())
			st.rebuildAfterFailure()
			if st.fault != nil {
				err = storageError(st.fault.cause)
			}
			return 0, err
		}
		st.storeOK(time.Now())
		after := st.store.State()
		return state.Msgs - after.Msgs, nil
	}
	var seqs []uint64
	st.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
		if req.Sequence > 0 && m.Seq >= req.Sequence {
			return false
		}
		if protocol.MatchLiteral(m.Subject, req.Subject) {
			seqs = append(seqs, m.Seq)
		}
		return true
	})
	if req.Keep > 0 {
		if uint64(len(seqs)) <= req.Keep {
			return 0, nil
		}
		seqs = seqs[:uint64(len(seqs))-req.Keep]
	}
	return st.deleteSeqs(seqs)
}

// rebuildAfterFailure re-reads the store into the indexes after an
// operation left them in doubt.
func (st *stream) rebuildAfterFailure() {
	if err := st.rebuildIndexes(); err != nil {
		st.js.log.Error("rebuild stream indexes", "stream", st.name, "error", err)
	}
}
