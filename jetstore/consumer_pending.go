package jetstore

import (
	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// removalMark changes whenever a store removes a message, and only then:
// a delete in the middle adds a hole, and any removal at the front moves
// FirstSeq, which never goes back. Appends leave it as it is.
type removalMark struct {
	first   uint64
	deleted int
}

func markOf(s store.StoreState) removalMark { return removalMark{s.FirstSeq, s.NumDeleted} }

// maxSubjectWalk bounds the subjects a wildcard filter's count looks up
// in the stream's subject index; past it the count scans the messages.
const maxSubjectWalk = 4096

// numPending returns how many stored messages after the delivered stream
// sequence pass the consumer's filters (and, while last_per_subject
// lasts, are the last of their subject). Unfiltered consumers read it off
// the store. Filtered ones keep a running count that is exact while
// nothing is removed; after a removal it is counted afresh, from the
// stream's subject index where that suffices and by a scan of the
// sequences in question where it does not. mu is held.
func (c *consumer) numPending() uint64 {
	s := c.st.store.State()
	from := max(c.sseq, s.FirstSeq)
	if !c.counting() {
		return c.st.store.Count(from, s.LastSeq)
	}
	if mark := markOf(s); mark != c.pendMark {
		c.npend = c.countMatching(from, s.LastSeq)
		c.counted = max(c.counted, s.LastSeq)
		c.pendMark = mark
		return c.npend
	}
	c.countNew()
	return c.npend
}

// counting reports whether num_pending is kept by counting matching
// messages (filters, or last_per_subject) rather than read off the
// stream's counters. mu is held.
func (c *consumer) counting() bool { return c.filters != nil || c.lps != nil }

// countNew adds to npend the matching messages stored since the last
// count. mu is held.
func (c *consumer) countNew() {
	last := c.st.store.State().LastSeq
	if last <= c.counted {
		return
	}
	from := max(c.counted+1, c.sseq)
	c.st.store.Scan(from, func(m store.StoredMsg) bool {
		if m.Seq > last {
			return false
		}
		if c.matches(m.Subject) && (c.lps == nil || m.Seq > c.lpsEnd || c.inLPS(m.Seq)) {
			c.npend++
		}
		return true
	})
	c.counted = last
}

func (c *consumer) inLPS(seq uint64) bool {
	_, ok := c.lps[seq]
	return ok
}

// countMatching counts the stored messages in [from, to] the consumer
// would deliver for the first time. mu is held.
func (c *consumer) countMatching(from, to uint64) uint64 {
	var n uint64
	if c.lps != nil {
		for seq := range c.lps {
			if seq >= from && seq <= min(to, c.lpsEnd) && c.st.store.Count(seq, seq) == 1 {
				n++
			}
		}
		from = max(from, c.lpsEnd+1)
	}
	if from > to {
		return n
	}
	if c.filters == nil {
		return n + c.st.store.Count(from, to)
	}
	return n + c.st.countFiltered(c.filters, from, to)
}

// countFiltered counts the stored messages in [from, to] whose subject
// passes filters, which do not overlap. Subjects wholly inside or outside
// the range count from the subject index; the others are counted by one
// scan, of the sequences below from or of those from it on, whichever is
// shorter.
func (st *stream) countFiltered(filters []string, from, to uint64) uint64 {
	spans, ok := st.subjectSpans(filters, to-from+1)
	if !ok {
		return st.scanCount(from, to, func(s string) bool { return matchesAny(s, filters) })
	}
	var n, partialMsgs uint64
	var partial map[string]struct{}
	lo, hi := to+1, from
	for subj, ss := range spans {
		switch {
		case ss.first != 0 && ss.last != 0 && ss.first >= from && ss.last <= to:
			n += ss.msgs
			continue
		case ss.last != 0 && ss.last < from, ss.first != 0 && ss.first > to:
			continue
		}
		if partial == nil {
			partial = make(map[string]struct{})
		}
		partial[subj] = struct{}{}
		partialMsgs += ss.msgs
		lo = min(lo, cmpOr(ss.first, 1))
		hi = max(hi, cmpOr(ss.last, to))
	}
	if partial == nil {
		return n
	}
	in := func(s string) bool {
		_, ok := partial[s]
		return ok
	}
	hi = min(hi, to)
	if lo < from && from-lo < hi-from+1 {
		below := st.scanCount(lo, from-1, in)
		return n + partialMsgs - min(below, partialMsgs)
	}
	return n + st.scanCount(from, hi, in)
}

// cmpOr returns v, or def when v is 0.
func cmpOr(v, def uint64) uint64 {
	if v == 0 {
		return def
	}
	return v
}

// subjectSpans returns what the subject index knows of the subjects that
// pass filters. It gives up (false) when a wildcard filter would have it
// walk more subjects than maxSubjectWalk or than the span of sequences a
// scan would read.
func (st *stream) subjectSpans(filters []string, span uint64) (map[string]subjectState, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make(map[string]subjectState, len(filters))
	walk := false
	for _, f := range filters {
		if !protocol.IsFilter(f) {
			if ss := st.subjects[f]; ss != nil {
				out[f] = *ss
			}
			continue
		}
		walk = true
	}
	if !walk {
		return out, true
	}
	if n := len(st.subjects); n > maxSubjectWalk || uint64(n) > span {
		return nil, false
	}
	for subj, ss := range st.subjects {
		if matchesAny(subj, filters) {
			out[subj] = *ss
		}
	}
	return out, true
}

// scanCount counts the stored messages in [from, to] whose subject passes
// match.
func (st *stream) scanCount(from, to uint64, match func(string) bool) uint64 {
	var n uint64
	st.store.Scan(from, func(m store.StoredMsg) bool {
		if m.Seq > to {
			return false
		}
		if match(m.Subject) {
			n++
		}
		return true
	})
	return n
}

// matchesAny reports whether subject passes one of filters.
func matchesAny(subject string, filters []string) bool {
	for _, f := range filters {
		if protocol.MatchLiteral(subject, f) {
			return true
		}
	}
	return false
}
