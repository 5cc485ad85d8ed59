package store

import "sort"

// holeSet is a set of sequence numbers kept as sorted, disjoint, non-adjacent
// inclusive ranges: a run of deletes costs one range, however long.
type holeSet struct {
	rs []holeRange
	n  uint64 // number of members
}

type holeRange struct{ lo, hi uint64 }

// at returns the index of the first range with hi >= seq.
func (s *holeSet) at(seq uint64) int {
	return sort.Search(len(s.rs), func(i int) bool { return s.rs[i].hi >= seq })
}

func (s *holeSet) len() uint64 { return s.n }

func (s *holeSet) contains(seq uint64) bool {
	i := s.at(seq)
	return i < len(s.rs) && s.rs[i].lo <= seq
}

// add inserts seq and reports whether it was absent.
func (s *holeSet) add(seq uint64) bool {
	i := s.at(seq)
	if i < len(s.rs) && s.rs[i].lo <= seq {
		return false
	}
	s.n++
	// Range i (if any) starts above seq; range i-1 (if any) ends below it.
	joinPrev := i > 0 && s.rs[i-1].hi+1 == seq
	joinNext := i < len(s.rs) && s.rs[i].lo-1 == seq
	switch {
	case joinPrev && joinNext:
		s.rs[i-1].hi = s.rs[i].hi
		s.rs = append(s.rs[:i], s.rs[i+1:]...)
	case joinPrev:
		s.rs[i-1].hi = seq
	case joinNext:
		s.rs[i].lo = seq
	default:
		s.rs = append(s.rs, holeRange{})
		copy(s.rs[i+1:], s.rs[i:])
		s.rs[i] = holeRange{seq, seq}
	}
	return true
}

// removeBelow drops every member below seq.
func (s *holeSet) removeBelow(seq uint64) {
	i := s.at(seq)
	for _, r := range s.rs[:i] {
		s.n -= r.hi - r.lo + 1
	}
	if i < len(s.rs) && s.rs[i].lo < seq {
		s.n -= seq - s.rs[i].lo
		s.rs[i].lo = seq
	}
	s.rs = s.rs[i:]
	if len(s.rs) == 0 {
		s.rs = nil
	}
}

// nextAbsent returns the smallest sequence >= seq that is not a member.
func (s *holeSet) nextAbsent(seq uint64) uint64 {
	i := s.at(seq)
	if i < len(s.rs) && s.rs[i].lo <= seq {
		return s.rs[i].hi + 1
	}
	return seq
}

// countIn returns how many members lie in [lo, hi]. It sums whichever is
// shorter, the ranges overlapping [lo, hi] or those outside it, so a
// window near either end of the set costs little however many runs it
// holds.
func (s *holeSet) countIn(lo, hi uint64) uint64 {
	if lo > hi || len(s.rs) == 0 {
		return 0
	}
	i := s.at(lo)
	j := sort.Search(len(s.rs), func(k int) bool { return s.rs[k].lo > hi })
	if i >= j {
		return 0
	}
	var in uint64
	if j-i <= len(s.rs)-(j-i) {
		for _, r := range s.rs[i:j] {
			in += r.hi - r.lo + 1
		}
	} else {
		in = s.n
		for _, r := range s.rs[:i] {
			in -= r.hi - r.lo + 1
		}
		for _, r := range s.rs[j:] {
			in -= r.hi - r.lo + 1
		}
	}
	if r := s.rs[i]; r.lo < lo {
		in -= lo - r.lo
	}
	if r := s.rs[j-1]; r.hi > hi {
		in -= r.hi - hi
	}
	return in
}
