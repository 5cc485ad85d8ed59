package jetstore

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// testConsumer builds a consumer for state tests, without a stream store.
func testConsumer(dir string) *consumer {
	js := &JetStream{log: slog.New(slog.DiscardHandler)}
	st := &stream{js: js, name: "S"}
	c := newConsumer(st, ConsumerConfig{Durable: "d", AckPolicy: AckExplicit}, time.Unix(1, 0).UTC(), dir)
	c.sseq = 1
	return c
}

// stateOf describes a consumer's restored state.
func stateOf(c *consumer) string {
	var pend []string
	for seq, p := range c.pending {
		pend = append(pend, fmt.Sprintf("%d:%d/%d", seq, p.cseq, p.deliveries))
	}
	sort.Strings(pend)
	return fmt.Sprintf("dseq=%d sseq=%d pending=%v", c.dseq, c.sseq, pend)
}

func reload(t *testing.T, dir string) *consumer {
	t.Helper()
	c := testConsumer(dir)
	if err := c.loadState(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConsumerStateReplay(t *testing.T) {
	dir := t.TempDir()
	c := testConsumer(dir)
	if err := c.initState(); err != nil {
		t.Fatal(err)
	}
	c.log.deliver(1, 1, 1, 10)
	c.log.deliver(2, 2, 1, 11)
	c.log.deliver(3, 3, 1, 12)
	c.log.ack(2)
	c.log.deliver(1, 4, 2, 13)
	if err := c.log.flush(true, time.Now()); err != nil {
		t.Fatal(err)
	}
	const want = "dseq=4 sseq=4 pending=[1:4/2 3:3/1]"
	c.log.close()
	r := reload(t, dir)
	if got := stateOf(r); got != want {
		t.Fatalf("replayed %s; want %s", got, want)
	}
	r.log.close()

	// A torn record at the end is cut off.
	logPath := filepath.Join(dir, consumerLogFile)
	good, _ := os.Stat(logPath)
	f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{20, 0, 0, 0, 1, 2})
	f.Close()
	r = reload(t, dir)
	if got := stateOf(r); got != want {
		t.Fatalf("after a torn tail: %s; want %s", got, want)
	}
	// New records go after the cut.
	r.log.ackAll(1)
	r.log.close()
	if fi, _ := os.Stat(logPath); fi.Size() <= good.Size() || fi.Size() > good.Size()+16 {
		t.Fatalf("log is %d bytes; want a little more than %d", fi.Size(), good.Size())
	}
	r = reload(t, dir)
	if got, want := stateOf(r), "dseq=4 sseq=4 pending=[3:3/1]"; got != want {
		t.Fatalf("after ack all: %s; want %s", got, want)
	}
	r.log.close()

	// A flipped bit in the last record drops that record only.
	b, _ := os.ReadFile(logPath)
	b[len(b)-1] ^= 0x40
	os.WriteFile(logPath, b, 0o640)
	r = reload(t, dir)
	if got := stateOf(r); got != want {
		t.Fatalf("after a damaged last record: %s; want %s", got, want)
	}
	r.log.close()
}

func TestConsumerStateCompaction(t *testing.T) {
	dir := t.TempDir()
	c := testConsumer(dir)
	if err := c.initState(); err != nil {
		t.Fatal(err)
	}
	// Build state in memory and in the log, as the consumer does.
	for seq := uint64(1); seq <= 5; seq++ {
		c.dseq = seq
		c.sseq = seq + 1
		c.pending[seq] = &pendingMsg{cseq: seq, deliveries: 1, ts: int64(seq)}
		c.log.deliver(seq, seq, 1, int64(seq))
	}
	delete(c.pending, 2)
	c.log.ack(2)
	c.log.flush(false, time.Now())
	logPath := filepath.Join(dir, consumerLogFile)
	stale, _ := os.ReadFile(logPath)

	c.compact(time.Now())
	if c.log.gen != 2 {
		t.Fatalf("log generation %d after compaction; want 2", c.log.gen)
	}
	c.log.ack(4)
	c.log.close()
	const want = "dseq=5 sseq=6 pending=[1:1/1 3:3/1 5:5/1]"
	r := reload(t, dir)
	if got := stateOf(r); got != want {
		t.Fatalf("after compaction: %s; want %s", got, want)
	}
	r.log.close()

	// A crash between the snapshot and the new log leaves the old log: it
	// is stale and ignored (its records are in the snapshot).
	os.WriteFile(logPath, stale, 0o640)
	r = reload(t, dir)
	if got, want := stateOf(r), "dseq=5 sseq=6 pending=[1:1/1 3:3/1 4:4/1 5:5/1]"; got != want {
		t.Fatalf("with a stale log: %s; want %s", got, want)
	}
	if r.log.gen != 2 {
		t.Fatalf("fresh log generation %d; want 2", r.log.gen)
	}
	r.log.close()
}

func BenchmarkConsumerLogFlush(b *testing.B) {
	dir := b.TempDir()
	c := testConsumer(dir)
	if err := c.initState(); err != nil {
		b.Fatal(err)
	}
	defer c.log.close()
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		// One round: 64 deliveries and 64 acks, one write, no fsync.
		for range 64 {
			seq++
			c.log.deliver(seq, seq, 1, int64(seq))
			c.log.ack(seq)
		}
		if err := c.log.flush(false, time.Time{}.Add(time.Duration(seq))); err != nil {
			b.Fatal(err)
		}
	}
}
