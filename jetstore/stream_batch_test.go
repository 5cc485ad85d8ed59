package jetstore

import (
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
)

// countingStore counts Append calls: each is one write and one fsync.
type countingStore struct {
	store.Store
	appends atomic.Int64
}

func (s *countingStore) Append(msgs []store.StoredMsg) error {
	s.appends.Add(1)
	return s.Store.Append(msgs)
}

func newBatchEnv(t *testing.T) (*fuzzEnv, *stream) {
	t.Helper()
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	js, err := Open(e.bus, Config{StoreDir: t.TempDir(), Sync: SyncAlways, Logger: slog.New(errorLogHandler{e.log})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Close() })
	e.js = js
	e.mustOK(t, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"],"allow_atomic":true}`)
	return e, js.lookup("S")
}

func batchHeader(id string, seq int, commit string) []byte {
	h := "NATS/1.0\r\nNats-Batch-Id: " + id + "\r\nNats-Batch-Sequence: " + strconv.Itoa(seq) + "\r\n"
	if commit != "" {
		h += "Nats-Batch-Commit: " + commit + "\r\n"
	}
	return []byte(h + "\r\n")
}

// A committed batch is one Append: one write and one fsync for all of it.
func TestAtomicBatchIsOneAppend(t *testing.T) {
	e, st := newBatchEnv(t)
	cs := &countingStore{Store: st.store}
	st.do(func() { st.store = cs })
	for i := 1; i < 100; i++ {
		e.bus.Publish("s.x", "", batchHeader("b", i, ""), []byte("m"))
	}
	pa := e.publishOne(t, "s.x", batchHeader("b", 100, "1"), []byte("m"))
	if pa.Error != nil || pa.Seq != 100 {
		t.Fatalf("commit = %+v", pa)
	}
	if n := cs.appends.Load(); n != 1 {
		t.Fatalf("%d appends for one batch of 100; want 1", n)
	}
	if s := st.store.State(); s.Msgs != 100 {
		t.Fatalf("%d messages stored; want 100", s.Msgs)
	}
	e.log.check(t)
}

// A batch with no new message for atomicBatchIdle is abandoned: its memory
// is released and its commit refused.
func TestAtomicBatchIdleIsAbandoned(t *testing.T) {
	e, st := newBatchEnv(t)
	// A staged message with a reply is answered once it is staged.
	e.bus.Publish("s.x", "_INBOX.idle", batchHeader("idle", 1, ""), []byte("m"))
	e.bus.Publish("s.x", "_INBOX.busy", batchHeader("busy", 1, ""), []byte("m"))
	e.bus.waitFor(t, "_INBOX.idle", 1)
	e.bus.waitFor(t, "_INBOX.busy", 1)
	var open int
	st.do(func() { open = len(st.batches.open) })
	if open != 2 || e.js.atomicOpen.Load() != 2 {
		t.Fatalf("%d batches open (%d in all); want 2", open, e.js.atomicOpen.Load())
	}
	st.do(func() {
		st.batches.open["busy"].last = time.Now().Add(atomicBatchIdle)
		st.expireAtomic(time.Now().Add(atomicBatchIdle + time.Second))
		open = len(st.batches.open)
	})
	if open != 1 || e.js.atomicOpen.Load() != 1 {
		t.Fatalf("%d batches open (%d in all) after the idle one expired; want 1", open, e.js.atomicOpen.Load())
	}
	if pa := e.publishOne(t, "s.x", batchHeader("idle", 2, "1"), []byte("m")); pa.Error == nil || pa.Error.ErrCode != 10176 {
		t.Fatalf("commit of the abandoned batch = %+v; want 10176", pa)
	}
	if pa := e.publishOne(t, "s.x", batchHeader("busy", 2, "1"), []byte("m")); pa.Error != nil || pa.Seq != 2 {
		t.Fatalf("commit of the live batch = %+v", pa)
	}
	var left *atomicBatches
	st.do(func() { left = st.batches })
	if left != nil || e.js.atomicOpen.Load() != 0 {
		t.Fatalf("staging state left after every batch ended: %+v, %d open", left, e.js.atomicOpen.Load())
	}
	// Turning allow_atomic off abandons what is open.
	e.bus.Publish("s.x", "_INBOX.off", batchHeader("off", 1, ""), []byte("m"))
	e.bus.waitFor(t, "_INBOX.off", 1)
	e.mustOK(t, "STREAM.UPDATE.S", `{"name":"S","subjects":["s.>"],"allow_atomic":false}`)
	st.do(func() { st.expireAtomic(time.Now()) })
	if e.js.atomicOpen.Load() != 0 {
		t.Fatalf("%d batches open after allow_atomic was turned off; want 0", e.js.atomicOpen.Load())
	}
	e.log.check(t)
}
