package jetstore

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// levelLog records every log record with its level.
type levelLog struct {
	mu   sync.Mutex
	recs []string // "LEVEL message attrs"
}

type levelLogHandler struct{ l *levelLog }

func (h levelLogHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h levelLogHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h levelLogHandler) WithGroup(string) slog.Handler            { return h }
func (h levelLogHandler) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		sb.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	h.l.mu.Lock()
	h.l.recs = append(h.l.recs, sb.String())
	h.l.mu.Unlock()
	return nil
}

// count returns how many records contain s.
func (l *levelLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if strings.Contains(r, s) {
			n++
		}
	}
	return n
}

func (l *levelLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.recs, "\n")
}

// newFaultEnv opens a stream layer in dir on a fake bus, fsyncing every
// write, with stream S (subjects s.>) and a durable pull consumer C on it.
func newFaultEnv(t *testing.T, dir string) (*fuzzEnv, *levelLog) {
	t.Helper()
	logs := &levelLog{}
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	js, err := Open(e.bus, Config{StoreDir: dir, Sync: SyncAlways, Logger: slog.New(levelLogHandler{logs})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	})
	e.js = js
	e.mustOK(t, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	e.mustOK(t, "CONSUMER.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}`)
	return e, logs
}

// walOf returns the WAL store of stream name.
func walOf(t *testing.T, e *fuzzEnv, name string) store.Store {
	t.Helper()
	st := e.js.lookup(name)
	if st == nil {
		t.Fatalf("no stream %s", name)
	}
	return st.store
}

// setFailpoint installs a fault point on a stream's running WAL store.
func setFailpoint(s store.Store, f func(op string) error) {
	if !store.SetFailPoint(s, f) {
		panic("a WAL store has a fault point")
	}
}

// errDiskFull is what a write on a full disk returns.
var errDiskFull = &fs.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}

// failFsync makes every fsync of the log fail as on a full disk.
func failFsync(op string) error {
	if op == "fsync" {
		return errDiskFull
	}
	return nil
}

// wantDiskFull fails unless pa is the answer to a publish the disk had no
// room for.
func wantDiskFull(t *testing.T, what string, pa PubAck) {
	t.Helper()
	want := APIError{Code: 503, ErrCode: 10077, Description: "storage write failed: no space left on device"}
	if pa.Error == nil || *pa.Error != want || pa.Seq != 0 || pa.Duplicate {
		t.Fatalf("%s: PubAck %+v (error %+v); want error %+v", what, pa, pa.Error, want)
	}
}

// publishUntilStored publishes until the stream stores the message, each
// refusal being the disk-full answer, and returns the PubAck.
func publishUntilStored(t *testing.T, e *fuzzEnv, subj string, hdr, data []byte) PubAck {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pa := e.publishOne(t, subj, hdr, data)
		if pa.Error == nil {
			return pa
		}
		wantDiskFull(t, "publish after the disk recovered", pa)
		if time.Now().After(deadline) {
			t.Fatal("publishes still refused 10s after the disk recovered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamStoreFault fails the fsync of every write to a stream's log:
// each publish is answered with the store error and not stored, reads and
// the consumer keep working, purges are refused, and the failure is logged
// once. When fsyncs succeed again, publishing resumes at the next
// sequence without a restart, a message id refused earlier is not taken
// for a duplicate, and the recovery is logged once. Reopened, the stream
// holds exactly the acknowledged messages.
func TestStreamStoreFault(t *testing.T) {
	dir := t.TempDir()
	e, logs := newFaultEnv(t, dir)
	var acked []string
	for i := 1; i <= 5; i++ {
		data := "stored " + strconv.Itoa(i)
		if pa := e.publishOne(t, "s.a", nil, []byte(data)); pa.Error != nil || pa.Seq != uint64(i) {
			t.Fatalf("publish %d: %+v", i, pa)
		}
		acked = append(acked, data)
	}

	ws := walOf(t, e, "S")
	setFailpoint(ws, failFsync)
	for i := range 10 {
		wantDiskFull(t, "publish "+strconv.Itoa(i)+" on a full disk", e.publishOne(t, "s.a", nil, []byte("refused")))
	}
	idHdr := []byte("NATS/1.0\r\nNats-Msg-Id: once\r\n\r\n")
	wantDiskFull(t, "publish with a message id on a full disk", e.publishOne(t, "s.a", idHdr, []byte("once")))

	_, replies := e.request(t, "STREAM.MSG.GET.S", []byte(`{"seq":5}`))
	if len(replies) != 1 || !strings.Contains(string(replies[0].Data), `"seq":5`) {
		t.Fatalf("message get on a full disk: %d replies %q", len(replies), firstData(replies))
	}
	const inbox = "_INBOX.fault.next"
	listen(t, e.bus, inbox)
	e.bus.Publish(apiPrefix+"CONSUMER.MSG.NEXT.S.C", inbox, nil, []byte(`{"batch":5}`))
	msgs := e.bus.waitFor(t, inbox, 5)
	for i, m := range msgs {
		if string(m.Data) != acked[i] {
			t.Fatalf("consumer on a full disk: message %d is %q; want %q", i, m.Data, acked[i])
		}
	}
	_, replies = e.request(t, "STREAM.PURGE.S", nil)
	if len(replies) != 1 || !strings.Contains(string(replies[0].Data), "storage write failed: no space left on device") {
		t.Fatalf("purge on a full disk: %d replies %q", len(replies), firstData(replies))
	}
	if n := logs.count("stream store write failed"); n != 1 {
		t.Fatalf("%d log records say the store failed; want 1", n)
	}
	report := func() StreamReport {
		for _, d := range e.js.Report().Detail {
			if d.Name == "S" {
				return d
			}
		}
		t.Fatal("stream S missing from the report")
		return StreamReport{}
	}
	if d := report(); d.StoreError != "storage write failed: no space left on device" || d.RefusedPublishes != 11 {
		t.Fatalf("report on a full disk: store_error %q, refused_publishes %d; want the failure and 11", d.StoreError, d.RefusedPublishes)
	}
	if err := e.js.Health(); err == nil || err.Error() != `stream "S": storage write failed: no space left on device` {
		t.Fatalf("Health() on a full disk = %v; want the stream's failure", err)
	}

	setFailpoint(ws, nil)
	if pa := publishUntilStored(t, e, "s.a", nil, []byte("after")); pa.Seq != 6 {
		t.Fatalf("first publish after recovery: seq %d; want 6", pa.Seq)
	}
	acked = append(acked, "after")
	if pa := e.publishOne(t, "s.a", idHdr, []byte("once")); pa.Error != nil || pa.Seq != 7 || pa.Duplicate {
		t.Fatalf("message id refused on a full disk, published again: %+v; want stored at 7", pa)
	}
	acked = append(acked, "once")
	if n := logs.count("stream store writable again"); n != 1 {
		t.Fatalf("%d log records say the store recovered; want 1", n)
	}
	if d := report(); d.StoreError != "" || d.RefusedPublishes < 11 {
		t.Fatalf("report after recovery: store_error %q, refused_publishes %d; want none and the count kept", d.StoreError, d.RefusedPublishes)
	}
	if err := e.js.Health(); err != nil {
		t.Fatalf("Health() after recovery = %v; want nil", err)
	}
	if n := logs.count("ERROR"); n != 1 {
		t.Fatalf("%d error records; want only the failure", n)
	}

	e.js.Close()
	js, err := Open(newFakeBus(), Config{StoreDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	st := js.lookup("S")
	if got := st.store.State(); got.Msgs != uint64(len(acked)) || got.LastSeq != uint64(len(acked)) {
		t.Fatalf("reopened: %+v; want exactly the %d acknowledged messages", got, len(acked))
	}
	for i, want := range acked {
		m, err := st.store.Load(uint64(i + 1))
		if err != nil || string(m.Data) != want {
			t.Fatalf("reopened: seq %d = %q, %v; want %q", i+1, m.Data, err, want)
		}
	}
}

// TestStreamStoreFaultBatchDuplicate: a batch whose write fails holds a
// message and a duplicate of it (same id); neither was stored, so neither
// is answered as stored.
func TestStreamStoreFaultBatchDuplicate(t *testing.T) {
	e, _ := newFaultEnv(t, t.TempDir())
	st := e.js.lookup("S")
	setFailpoint(walOf(t, e, "S"), failFsync)
	hdr := []byte("NATS/1.0\r\nNats-Msg-Id: twice\r\n\r\n")
	batch := []*protocol.Msg{
		{Subject: []byte("s.a"), Reply: []byte("_INBOX.dup.1"), Header: hdr, Data: []byte("one")},
		{Subject: []byte("s.a"), Reply: []byte("_INBOX.dup.2"), Header: hdr, Data: []byte("one")},
	}
	st.do(func() { st.storeBatch(batch) })
	for _, inbox := range []string{"_INBOX.dup.1", "_INBOX.dup.2"} {
		var pa PubAck
		if err := json.Unmarshal(e.bus.waitFor(t, inbox, 1)[0].Data, &pa); err != nil {
			t.Fatal(err)
		}
		wantDiskFull(t, inbox, pa)
	}
}

// TestStreamStoreFaultWorkQueueRemovals: on a work-queue stream, messages
// acked while the disk is full cannot be removed then; they are removed
// once it recovers.
func TestStreamStoreFaultWorkQueueRemovals(t *testing.T) {
	e, _ := newFaultEnv(t, t.TempDir())
	e.mustOK(t, "STREAM.CREATE.W", `{"name":"W","subjects":["w.>"],"retention":"workqueue"}`)
	e.mustOK(t, "CONSUMER.CREATE.W.WC", `{"stream_name":"W","config":{"durable_name":"WC","ack_policy":"explicit"}}`)
	for i := range 3 {
		if pa := e.publishOneTo(t, "w.job", nil, []byte("job "+strconv.Itoa(i))); pa.Error != nil {
			t.Fatal(pa.Error)
		}
	}
	ws := walOf(t, e, "W")
	setFailpoint(ws, failFsync)
	const inbox = "_INBOX.wq.next"
	listen(t, e.bus, inbox)
	e.bus.Publish(apiPrefix+"CONSUMER.MSG.NEXT.W.WC", inbox, nil, []byte(`{"batch":3}`))
	for _, m := range e.bus.waitFor(t, inbox, 3) {
		e.bus.Publish(string(m.Reply), "", nil, []byte("+ACK"))
	}
	c := e.js.lookup("W").consumer("WC")
	waitCond(t, "the acks", func() bool { return c.info("").NumAckPending == 0 })
	if n := ws.State().Msgs; n != 3 {
		t.Fatalf("%d messages on a full disk; want the 3 acked ones still there", n)
	}
	setFailpoint(ws, nil)
	waitCond(t, "the acked messages to go", func() bool { return ws.State().Msgs == 0 })
}

// listen subscribes to inbox, as a client waiting for deliveries does.
func listen(t *testing.T, bus *fakeBus, inbox string) {
	t.Helper()
	unsub, err := bus.Subscribe(inbox, "", func(*protocol.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unsub)
}

// firstData returns the first reply's payload, if any.
func firstData(replies []*protocol.Msg) []byte {
	if len(replies) == 0 {
		return nil
	}
	return replies[0].Data
}

// waitCond polls cond for up to 10s (of the fake clock inside a
// synctest bubble); it is the package's one poll loop.
func waitCond(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	// Most conditions hold within microseconds: poll fast first, then
	// back off to every 5 ms.
	for wait := 50 * time.Microsecond; !cond(); wait = min(2*wait, 5*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(wait)
	}
}
