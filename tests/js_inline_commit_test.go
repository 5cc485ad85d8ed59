package tests

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wrenmq/wren/jetstore/store"
)

// slowSyncFS makes every fsync of a stream's log take at least delay and
// counts the ones that have completed, so a PubAck sent before its fsync
// returned would be seen by the client while done is still short.
type slowSyncFS struct {
	store.FS
	delay time.Duration
	done  atomic.Int64
}

func (f *slowSyncFS) SyncWith(dir string, sync func() error) error {
	time.Sleep(f.delay)
	err := f.FS.SyncWith(dir, sync)
	f.done.Add(1)
	return err
}

// slowSyncs puts a slowSyncFS in store.Disk until the test ends.
func slowSyncs(t *testing.T, delay time.Duration) *slowSyncFS {
	f := &slowSyncFS{FS: store.Disk, delay: delay}
	store.Disk = f
	t.Cleanup(func() { store.Disk = f.FS })
	return f
}

// A client publishing one message at a time gets each PubAck only once
// the message's fsync has returned, and each publish costs exactly one.
func TestJSSyncPublishAckedAfterFsync(t *testing.T) {
	fs := slowSyncs(t, time.Millisecond)
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "SYNC", Subjects: []string{"sync.>"}})
	mustPublish(t, js, "sync.first", "0", 1) // the log's first segment exists now
	const n = 100
	before := fs.done.Load()
	for i := range n {
		mustPublish(t, js, fmt.Sprintf("sync.%d", i%4), fmt.Sprint(i), uint64(i+2))
		if got := fs.done.Load() - before; got < int64(i+1) {
			t.Fatalf("publish %d acknowledged after %d completed fsyncs; want %d", i+1, got, i+1)
		}
	}
	if got := fs.done.Load() - before; got != n {
		t.Errorf("%d sync publishes took %d log fsyncs; want %d", n, got, n)
	}
	wantState(t, s, stateSummary{Msgs: n + 1, FirstSeq: 1, LastSeq: n + 1, NumSubjects: 5})
}

// Sync publishers on several connections share fsyncs: while one of them
// stores, the others' publishes wait and are stored together. Each
// connection's messages keep their order and every ack is a distinct
// sequence.
func TestJSSyncPublishersShareFsyncs(t *testing.T) {
	fs := slowSyncs(t, 2*time.Millisecond)
	j := startJS(t, "")
	_, js0 := jsConnect(t, j)
	s := mustCreate(t, js0, jetstream.StreamConfig{Name: "MANY", Subjects: []string{"many.>"}})
	mustPublish(t, js0, "many.first", "0", 1)
	const conns, each = 8, 100
	jss := make([]jetstream.JetStream, conns)
	for c := range jss {
		_, jss[c] = jsConnect(t, j)
	}
	before := fs.done.Load()
	var wg sync.WaitGroup
	seqs := make([][]uint64, conns)
	errs := make(chan error, conns)
	for c := range conns {
		wg.Go(func() {
			for i := range each {
				ack, err := jss[c].Publish(jsCtx(t), fmt.Sprintf("many.%d", c), []byte(fmt.Sprint(i)))
				if err != nil {
					errs <- fmt.Errorf("connection %d publish %d: %v", c, i, err)
					return
				}
				seqs[c] = append(seqs[c], ack.Sequence)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for c, ss := range seqs {
		for i, seq := range ss {
			if seen[seq] || (i > 0 && seq <= ss[i-1]) {
				t.Fatalf("connection %d publish %d acked seq %d: repeated or out of order (%v)", c, i, seq, ss)
			}
			seen[seq] = true
		}
	}
	syncs := fs.done.Load() - before
	t.Logf("%d sync publishes on %d connections: %d log fsyncs", conns*each, conns, syncs)
	if syncs > conns*each/2 {
		t.Errorf("%d sync publishes on %d connections took %d log fsyncs; want them shared (at most %d)", conns*each, conns, syncs, conns*each/2)
	}
	wantState(t, s, stateSummary{Msgs: conns*each + 1, FirstSeq: 1, LastSeq: conns*each + 1, NumSubjects: conns + 1})
	for c := range conns {
		m, err := s.GetLastMsgForSubject(jsCtx(t), fmt.Sprintf("many.%d", c))
		if err != nil || string(m.Data) != fmt.Sprint(each-1) {
			t.Fatalf("last message of connection %d: %v %q; want %q", c, err, dataOfRaw(m), fmt.Sprint(each-1))
		}
	}
}

// An asynchronous publisher with many messages in flight still gets them
// stored in groups: a few fsyncs per thousand messages, not one each.
func TestJSAsyncPublishGroupCommits(t *testing.T) {
	fs := slowSyncs(t, 0)
	const n = 10000
	j := startJS(t, "")
	nc, _ := jsConnect(t, j)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(n+1))
	if err != nil {
		t.Fatal(err)
	}
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "ASYNCG", Subjects: []string{"asyncg.>"}})
	mustPublish(t, js, "asyncg.first", "0", 1)
	before := fs.done.Load()
	futures := publishAsyncAll(t, js, n, func(int) string { return "asyncg.x" })
	for i, f := range futures {
		if seq := futureSeq(t, f); seq != uint64(i+2) {
			t.Fatalf("async publish %d acked seq %d; want %d", i, seq, i+2)
		}
	}
	syncs := fs.done.Load() - before
	t.Logf("%d async publishes: %d log fsyncs", n, syncs)
	if syncs > n/20 {
		t.Errorf("%d async publishes took %d log fsyncs; want them grouped (at most %d)", n, syncs, n/20)
	}
	wantState(t, s, stateSummary{Msgs: n + 1, FirstSeq: 1, LastSeq: n + 1, NumSubjects: 2})
}

// Behind a slow disk a connection's stream publish does not hold up its
// other traffic: with the latest fsync taking longer than a read loop
// waits for itself, the stream's writer stores the message and the
// connection's next publish, core traffic here, is delivered while that
// fsync is still running.
func TestJSSlowDiskDoesNotHoldConnection(t *testing.T) {
	fs := slowSyncs(t, 100*time.Millisecond)
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "SLOW", Subjects: []string{"slow.>"}})
	mustPublish(t, js, "slow.first", "0", 1) // the latest fsync is slow now

	obs, _ := jsConnect(t, j)
	got := make(chan *nats.Msg, 1)
	if _, err := obs.ChanSubscribe("core.x", got); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, obs)

	before := fs.done.Load()
	ack, err := js.PublishAsync("slow.1", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, nc) // the PING is read after the stream publish
	nc.Publish("core.x", []byte("now"))
	select {
	case <-got:
	case <-time.After(testTimeout):
		t.Fatal("the core message never arrived")
	}
	if done := fs.done.Load() - before; done != 0 {
		t.Errorf("the core message arrived after %d fsync(s) of the stream publish before it; want it delivered while the fsync runs", done)
	}
	select {
	case a := <-ack.Ok():
		if a.Sequence != 2 {
			t.Errorf("stream publish acked seq %d; want 2", a.Sequence)
		}
	case err := <-ack.Err():
		t.Fatal(err)
	case <-time.After(testTimeout):
		t.Fatal("the stream publish was never acknowledged")
	}
	if done := fs.done.Load() - before; done != 1 {
		t.Errorf("the stream publish was acknowledged after %d fsyncs; want 1", done)
	}
}
