package store

import "testing"

type fakeHolder struct {
	set    *FileSet
	use    uint64
	busy   bool
	open   bool
	parked int
}

func (h *fakeHolder) LastUse() uint64 { return h.use }

func (h *fakeHolder) TryPark() bool {
	if h.busy || !h.open {
		return false
	}
	h.open = false
	h.parked++
	return true
}

func (h *fakeHolder) openFile() {
	h.use = h.set.Tick()
	h.open = true
	h.set.Opened(h)
}

// TestFileSetParksLeastRecentlyUsedIdle opens five holders under a budget
// of three: the least recently used idle ones are parked, a busy one is
// passed over, the one opening is never parked, and without a budget
// nothing is.
func TestFileSetParksLeastRecentlyUsedIdle(t *testing.T) {
	o := NewFileSet()
	o.SetBudget(3)
	hs := make([]*fakeHolder, 5)
	for i := range hs {
		hs[i] = &fakeHolder{set: o}
	}
	hs[0].busy = true
	for _, h := range hs[:3] {
		h.openFile()
	}
	if o.Open() != 3 || o.Over() {
		t.Fatalf("%d open, over %v; want 3 within the budget", o.Open(), o.Over())
	}
	hs[1].use = o.Tick() // used again: now the most recent of the three
	hs[3].openFile()     // parks hs[2]: hs[0] is busy, hs[1] was just used
	if hs[2].open || hs[0].parked != 0 || hs[1].parked != 0 || !hs[3].open {
		t.Fatalf("after a fourth: open %v %v %v %v; want the least recently used idle one (2) parked",
			hs[0].open, hs[1].open, hs[2].open, hs[3].open)
	}
	hs[4].openFile() // parks hs[1]
	if hs[1].open || !hs[4].open || o.Open() != 3 {
		t.Fatalf("after a fifth: holder 1 open %v, %d open; want it parked and 3 open", hs[1].open, o.Open())
	}
	o.Closed(hs[4])
	if o.Open() != 2 {
		t.Fatalf("after a close: %d open; want 2", o.Open())
	}

	o.SetBudget(0)
	for _, h := range hs {
		h.openFile()
	}
	if o.Open() != 5 || o.Over() {
		t.Fatalf("without a budget: %d open, over %v; want all 5 and never over", o.Open(), o.Over())
	}
}
