package jetstore

import "testing"

// An acked message's bookkeeping is reused by the next delivery, zeroed:
// nothing of the old delivery carries over, and at most maxFreePending
// are kept.
func TestPendingReuse(t *testing.T) {
	c := &consumer{pending: make(map[uint64]*pendingMsg), retention: RetentionLimits}
	for seq := uint64(1); seq <= 2*maxFreePending; seq++ {
		p := c.newPending()
		p.cseq, p.deliveries, p.ts, p.deadline, p.queued = seq, 3, 99, 100, true
		c.pending[seq] = p
	}
	last := c.pending[2*maxFreePending]
	for seq := uint64(1); seq <= 2*maxFreePending; seq++ {
		c.acked(seq)
	}
	if len(c.pending) != 0 || len(c.freePending) != maxFreePending {
		t.Fatalf("%d pending, %d free after acking all; want 0, %d", len(c.pending), len(c.freePending), maxFreePending)
	}
	q := c.newPending()
	if *q != (pendingMsg{}) {
		t.Fatalf("reused pendingMsg = %+v; want a zeroed one", *q)
	}
	if q == last {
		t.Fatalf("a pendingMsg acked past the bound was kept")
	}
}
