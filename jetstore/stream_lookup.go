package jetstore

import (
	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Lookups by subject answer from the subject index: a literal subject in
// O(1) (a scan only within the subject's own span when a removal left its
// first or last unknown), a wildcard from the index's subject list. A
// subject the stream does not hold is answered without reading a message.

// subjectSpan is one subject's first and last stored sequence.
type subjectSpan struct {
	subject     string
	first, last uint64
}

// matchingSubjects returns the bounds of every indexed subject that filter
// matches, looking unknown bounds up again.
func (st *stream) matchingSubjects(filter string) []subjectSpan {
	if !protocol.IsFilter(filter) {
		first, last := st.subjectBounds(filter)
		if last == 0 {
			return nil
		}
		return []subjectSpan{{filter, first, last}}
	}
	var out []subjectSpan
	stale := false
	st.mu.RLock()
	for subj, ss := range st.subjects {
		if protocol.MatchLiteral(subj, filter) {
			out = append(out, subjectSpan{subj, ss.first, ss.last})
			stale = stale || ss.first == 0 || ss.last == 0
		}
	}
	st.mu.RUnlock()
	if stale {
		for i := range out {
			if out[i].first == 0 || out[i].last == 0 {
				out[i].first, out[i].last = st.subjectBounds(out[i].subject)
			}
		}
	}
	return out
}

// lastBySubject returns the sequence of the last message filter matches,
// 0 when there is none.
func (st *stream) lastBySubject(filter string) uint64 {
	var best uint64
	for _, s := range st.matchingSubjects(filter) {
		best = max(best, s.last)
	}
	return best
}

// nextBySubject returns the first message at or after from that filter
// matches.
func (st *stream) nextBySubject(filter string, from uint64) (store.StoredMsg, bool) {
	spans := st.matchingSubjects(filter)
	// A subject whose first message is at or after from offers that
	// message; one whose span straddles from needs a scan, which can stop
	// at the best offer and at the last message any subject holds.
	var offer, end uint64
	straddle := false
	for _, s := range spans {
		if s.last == 0 || s.last < from {
			continue
		}
		if s.first >= from {
			if offer == 0 || s.first < offer {
				offer = s.first
			}
			continue
		}
		straddle = true
		end = max(end, s.last)
	}
	if straddle {
		if offer != 0 && offer-1 < end {
			end = offer - 1
		}
		var found store.StoredMsg
		ok := false
		st.store.Scan(from, func(m store.StoredMsg) bool {
			if m.Seq > end {
				return false
			}
			if protocol.MatchLiteral(m.Subject, filter) {
				found, ok = m, true
				return false
			}
			return true
		})
		if ok {
			return found, true
		}
	}
	if offer == 0 {
		return store.StoredMsg{}, false
	}
	m, err := st.store.Load(offer)
	return m, err == nil
}
