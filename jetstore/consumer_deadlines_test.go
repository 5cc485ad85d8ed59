package jetstore

import (
	"math/rand"
	"slices"
	"testing"
)

// The deadline heap hands entries back earliest first, whether pushed
// one by one or appended and then ordered, and a push allocates nothing
// once the slice has room.
func TestDeadlineHeapOrder(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var h deadlineHeap
	var want []int64
	for i := 0; i < 1000; i++ {
		at := r.Int63n(500)
		h.push(deadlineEntry{at: at, seq: uint64(i)})
		want = append(want, at)
		if i%7 == 0 {
			// Pop as deliveries and acks interleave.
			slices.Sort(want)
			if e := h.pop(); e.at != want[0] {
				t.Fatalf("pop = %d; want %d", e.at, want[0])
			}
			want = want[1:]
		}
	}
	slices.Sort(want)
	for _, w := range want {
		if e := h.pop(); e.at != w {
			t.Fatalf("pop = %d; want %d", e.at, w)
		}
	}
	if len(h) != 0 {
		t.Fatalf("%d entries left", len(h))
	}

	for i := 0; i < 300; i++ {
		h = append(h, deadlineEntry{at: r.Int63n(100)})
	}
	h.init()
	prev := int64(-1)
	for len(h) > 0 {
		e := h.pop()
		if e.at < prev {
			t.Fatalf("after init: %d after %d", e.at, prev)
		}
		prev = e.at
	}

	h = make(deadlineHeap, 0, 64)
	if n := testing.AllocsPerRun(50, func() {
		h.push(deadlineEntry{at: 5, seq: 1})
		h.pop()
	}); n != 0 {
		t.Errorf("%v allocations per push and pop; want 0", n)
	}
}
