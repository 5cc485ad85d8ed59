package jetstore

import (
	"io/fs"
	"strconv"
	"sync"
	"testing"

	"github.com/wrenmq/wren/jetstore/store"
)

// countFS counts, through store.Disk, the writes and syncs the stream
// layer makes: the WAL's fsyncs (SyncWith), directory fsyncs, and the
// writes and fsyncs of the files it writes itself (consumer state).
type countFS struct {
	store.FS
	mu                                 sync.Mutex
	walSyncs, dirSyncs, writes, fsyncs int
	opens                              int
}

type countFile struct {
	store.File
	c *countFS
}

func (c *countFS) add(n *int) { c.mu.Lock(); *n++; c.mu.Unlock() }

func (c *countFS) counts() (walSyncs, dirSyncs, writes, fsyncs, opens int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.walSyncs, c.dirSyncs, c.writes, c.fsyncs, c.opens
}

func (c *countFS) OpenFile(name string, flag int, perm fs.FileMode) (store.File, error) {
	c.add(&c.opens)
	f, err := c.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &countFile{f, c}, nil
}

func (c *countFS) SyncDir(name string) error { c.add(&c.dirSyncs); return c.FS.SyncDir(name) }

func (c *countFS) SyncWith(dir string, sync func() error) error {
	c.add(&c.walSyncs)
	return c.FS.SyncWith(dir, sync)
}

func (f *countFile) Write(b []byte) (int, error) { f.c.add(&f.c.writes); return f.File.Write(b) }
func (f *countFile) Sync() error                 { f.c.add(&f.c.fsyncs); return f.File.Sync() }

// countDisk puts a counting file system in store.Disk until the test ends.
func countDisk(t *testing.T) *countFS {
	c := &countFS{FS: store.Disk}
	store.Disk = c
	t.Cleanup(func() { store.Disk = c.FS })
	return c
}

// TestSyncPublishOneFsync publishes one message at a time, each waiting
// for its PubAck, to a stream with sync always and a durable consumer:
// each publish costs the log exactly one fsync and nothing else is
// written or synced (no index, dedup or consumer state on the publish
// path). Each confirmed ack then costs one write and one fsync of the
// consumer's state log, and the stream's log is not synced for it; the
// Fetch that delivered them writes at most once and syncs nothing.
func TestSyncPublishOneFsync(t *testing.T) {
	c := countDisk(t) // before the consumer opens its state log
	e := openAt(t, t.TempDir())
	e.mustOK(t, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	e.mustOK(t, "CONSUMER.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}`)
	publishN(t, e, "S", 1, subjS, nil) // the log's first segment exists now
	const n = 40
	w0, d0, wr0, f0, o0 := c.counts()
	publishN(t, e, "S", n, func(i int) string { return "s." + strconv.Itoa(i%3) }, nil)
	w1, d1, wr1, f1, o1 := c.counts()
	if w1-w0 != n || d1 != d0 || wr1 != wr0 || f1 != f0 || o1 != o0 {
		t.Fatalf("%d sync publishes: %d log fsyncs, %d directory fsyncs, %d file writes, %d file fsyncs, %d opens; want %d, 0, 0, 0, 0",
			n, w1-w0, d1-d0, wr1-wr0, f1-f0, o1-o0, n)
	}
	inbox := "_INBOX.pull.count"
	listen(t, e.bus, inbox)
	e.bus.Publish(apiPrefix+"CONSUMER.MSG.NEXT.S.C", inbox, nil, []byte(`{"batch":40,"expires":5000000000}`))
	msgs := e.bus.waitFor(t, inbox, n)
	w2, d2, wr2, f2, o2 := c.counts()
	t.Logf("a Fetch of %d: %d log fsyncs, %d directory fsyncs, %d file writes, %d file fsyncs, %d opens", n, w2-w1, d2-d1, wr2-wr1, f2-f1, o2-o1)
	if w2 != w1 || f2 != f1 || d2 != d1 || o2 != o1 || wr2-wr1 > 1 {
		t.Errorf("a Fetch of %d: %d log fsyncs, %d directory fsyncs, %d file writes, %d file fsyncs, %d opens; want at most one write and no sync",
			n, w2-w1, d2-d1, wr2-wr1, f2-f1, o2-o1)
	}
	for _, m := range msgs {
		e.ackWith(t, m, "+ACK")
	}
	w3, d3, wr3, f3, o3 := c.counts()
	t.Logf("%d confirmed acks: %d log fsyncs, %d directory fsyncs, %d file writes, %d file fsyncs, %d opens", n, w3-w2, d3-d2, wr3-wr2, f3-f2, o3-o2)
	if w3 != w2 {
		t.Errorf("%d confirmed acks synced the stream's log %d times", n, w3-w2)
	}
	if wr3 == wr2 || f3 == f2 {
		t.Errorf("%d confirmed acks wrote the consumer's state %d times and synced it %d times: the counter does not see it", n, wr3-wr2, f3-f2)
	}
	if wr3-wr2 > n || f3-f2 > n || d3 != d2 || o3 != o2 {
		t.Errorf("%d confirmed acks: %d writes, %d fsyncs, %d directory fsyncs, %d opens of consumer state; want at most one write and one fsync each", n, wr3-wr2, f3-f2, d3-d2, o3-o2)
	}
}
