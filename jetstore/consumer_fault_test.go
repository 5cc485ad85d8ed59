package jetstore

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestConsumerStateFaultHoldsConfirmations breaks a durable consumer's
// state log as a full disk would: ack confirmations are then held, not
// sent, and the failure is logged once; while the state cannot be
// rewritten either they stay held; once it can, the whole state is
// written afresh, the held confirmations go out, and the state on disk is
// the one in memory, acks made during the failure included.
func TestConsumerStateFaultHoldsConfirmations(t *testing.T) {
	dir := t.TempDir()
	logs := &levelLog{}
	c := testConsumer(dir)
	c.js.log = slog.New(levelLogHandler{logs})
	if err := c.initState(); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	for seq := uint64(1); seq <= 3; seq++ {
		c.dseq, c.sseq = seq, seq+1
		c.pending[seq] = &pendingMsg{cseq: seq, deliveries: 1, ts: int64(seq)}
		c.log.deliver(seq, seq, 1, int64(seq))
	}
	if got := c.persistState([]string{"ok"}, now); !slices.Equal(got, []string{"ok"}) {
		t.Fatalf("confirmations with a working log: %q", got)
	}

	// The log's file now refuses writes.
	ro, err := os.Open(filepath.Join(dir, consumerLogFile))
	if err != nil {
		t.Fatal(err)
	}
	c.log.f.Close()
	c.log.f = ro
	delete(c.pending, 1)
	c.log.ack(1)
	if got := c.persistState([]string{"r1"}, now); got != nil {
		t.Fatalf("confirmations sent though the ack was not written: %q", got)
	}
	// Nor can the state be written afresh yet: the consumer's directory
	// is a file for now.
	realDir := c.dir
	c.dir = filepath.Join(dir, consumerMetaFile)
	delete(c.pending, 2)
	c.log.ack(2)
	now = now.Add(faultRetryMin)
	if got := c.persistState([]string{"r2"}, now); got != nil {
		t.Fatalf("confirmations sent though the state could not be rewritten: %q", got)
	}
	if n := logs.count("consumer state write failed"); n != 1 {
		t.Fatalf("%d log records say the state failed; want 1", n)
	}
	if due := c.nextWake(now); due <= 0 || due > faultRetryMax {
		t.Fatalf("next retry in %v; want within %v", due, faultRetryMax)
	}

	c.dir = realDir
	now = now.Add(faultRetryMax)
	if got := c.persistState([]string{"r3"}, now); !slices.Equal(got, []string{"r1", "r2", "r3"}) {
		t.Fatalf("confirmations after the state was rewritten: %q; want r1 r2 r3", got)
	}
	if c.fault != nil || logs.count("consumer state writable again") != 1 {
		t.Fatalf("recovery not noted:\n%s", logs)
	}
	// The new log takes records again.
	c.dseq, c.sseq = 4, 5
	c.pending[4] = &pendingMsg{cseq: 4, deliveries: 1, ts: 4}
	c.log.deliver(4, 4, 1, 4)
	if got := c.persistState([]string{"r4"}, now); !slices.Equal(got, []string{"r4"}) {
		t.Fatalf("confirmations after recovery: %q", got)
	}
	want := stateOf(c)
	if err := c.closeState(); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(reload(t, dir)); got != want {
		t.Fatalf("state on disk %s; want %s", got, want)
	}
}

// TestConsumerStateFaultOnClose: a consumer that stops while its state
// log is broken writes its whole state afresh rather than appending to the
// broken log.
func TestConsumerStateFaultOnClose(t *testing.T) {
	dir := t.TempDir()
	c := testConsumer(dir)
	if err := c.initState(); err != nil {
		t.Fatal(err)
	}
	c.dseq, c.sseq = 2, 3
	c.pending[2] = &pendingMsg{cseq: 2, deliveries: 1, ts: 2}
	c.log.deliver(1, 1, 1, 1)
	c.log.deliver(2, 2, 1, 2)
	ro, err := os.Open(filepath.Join(dir, consumerLogFile))
	if err != nil {
		t.Fatal(err)
	}
	c.log.f.Close()
	c.log.f = ro
	c.log.ack(1)
	if got := c.persistState([]string{"r"}, time.Unix(1000, 0)); got != nil {
		t.Fatalf("confirmations sent though the state was not written: %q", got)
	}
	want := stateOf(c)
	if err := c.closeState(); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(reload(t, dir)); got != want {
		t.Fatalf("state on disk %s; want %s", got, want)
	}
}
