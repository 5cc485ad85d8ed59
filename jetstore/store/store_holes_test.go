package store

import (
	"math/rand/v2"
	"testing"
)

// TestHoleSet checks holeSet against a map under random adds and trims.
func TestHoleSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var s holeSet
	m := map[uint64]bool{}
	floor := uint64(0)
	for step := range 5000 {
		if rng.IntN(50) == 0 {
			floor += uint64(rng.IntN(30))
			s.removeBelow(floor)
			for k := range m {
				if k < floor {
					delete(m, k)
				}
			}
		} else {
			seq := floor + uint64(rng.IntN(200))
			if got, want := s.add(seq), !m[seq]; got != want {
				t.Fatalf("step %d: add(%d) = %v; want %v", step, seq, got, want)
			}
			m[seq] = true
		}
		if s.len() != uint64(len(m)) {
			t.Fatalf("step %d: len %d; want %d", step, s.len(), len(m))
		}
		for i, r := range s.rs {
			if r.lo > r.hi || (i > 0 && s.rs[i-1].hi+1 >= r.lo) {
				t.Fatalf("step %d: ranges not sorted, disjoint and apart: %v", step, s.rs)
			}
		}
		seq := floor + uint64(rng.IntN(220))
		if s.contains(seq) != m[seq] {
			t.Fatalf("step %d: contains(%d) = %v", step, seq, s.contains(seq))
		}
		lo, hi := floor+uint64(rng.IntN(220)), floor+uint64(rng.IntN(220))
		var in uint64
		for k := range m {
			if k >= lo && k <= hi {
				in++
			}
		}
		if got := s.countIn(lo, hi); got != in {
			t.Fatalf("step %d: countIn(%d, %d) = %d; want %d", step, lo, hi, got, in)
		}
		want := seq
		for m[want] {
			want++
		}
		if got := s.nextAbsent(seq); got != want {
			t.Fatalf("step %d: nextAbsent(%d) = %d; want %d", step, seq, got, want)
		}
	}
}
