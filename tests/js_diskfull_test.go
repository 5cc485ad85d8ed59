//go:build linux

package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// These tests run the daemon as a child process and fill its "disk" by
// lowering the child's file size limit (RLIMIT_FSIZE) while it runs: a
// write past the limit fails with EFBIG, part-way through when it crosses
// it, which is what a full disk does to a write. Raising the limit again
// stands for freeing space. The daemon ignores SIGXFSZ, as Go programs do.

// Log lines the daemon writes when a stream's or a consumer's storage
// fails and when it takes writes again.
const (
	logStoreFailed    = "stream store write failed"
	logStoreRecovered = "stream store writable again"
	logStateFailed    = "consumer state write failed"
	logStateRecovered = "consumer state writable again"
)

// codeStoreFailed is JetStream's err_code for a message the stream could
// not store (JSStreamStoreFailedF).
const codeStoreFailed jetstream.ErrorCode = 10077

// setFileSizeLimit sets the soft RLIMIT_FSIZE of process pid to limit
// bytes, keeping its hard limit; a limit at or above the hard limit
// restores the hard limit.
func setFileSizeLimit(t testing.TB, pid int, limit uint64) {
	t.Helper()
	var cur syscall.Rlimit
	if err := prlimit(pid, nil, &cur); err != nil {
		t.Fatalf("read RLIMIT_FSIZE of %d: %v", pid, err)
	}
	want := syscall.Rlimit{Cur: min(limit, cur.Max), Max: cur.Max}
	if err := prlimit(pid, &want, nil); err != nil {
		t.Fatalf("set RLIMIT_FSIZE of %d to %d: %v", pid, limit, err)
	}
}

// freeSpace lifts the file size limit of process pid.
func freeSpace(t testing.TB, pid int) { setFileSizeLimit(t, pid, ^uint64(0)) }

func prlimit(pid int, set, old *syscall.Rlimit) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE),
		uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(old)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// daemonLog reads what the daemons of a test logged: startDaemon keeps it
// in daemon.log beside the store directory, written by this process, so
// the daemon's file size limit never applies to it.
type daemonLog string

func (l daemonLog) String() string {
	b, _ := os.ReadFile(string(l))
	return string(b)
}

// count returns how many log lines contain s.
func (l daemonLog) count(s string) int {
	return strings.Count(l.String(), s)
}

// waitLog polls until exactly want log lines contain s.
func (l daemonLog) waitLog(t testing.TB, s string, want int) {
	t.Helper()
	waitUntil(t, func() error {
		if n := l.count(s); n != want {
			return fmt.Errorf("%d log lines contain %q; want %d", n, s, want)
		}
		return nil
	})
}

// startLoggedDaemon runs the daemon on the store in base/store and returns
// it and its log, which the test prints if it fails.
func startLoggedDaemon(t *testing.T, base string) (*daemon, daemonLog) {
	t.Helper()
	logs := daemonLog(filepath.Join(base, "daemon.log"))
	d := startDaemon(t, filepath.Join(base, "store"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs)
		}
	})
	return d, logs
}

// connectJS connects a client and its jetstream context to url.
func connectJS(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// wantStoreFailed fails unless err is the PubAck error of a message the
// stream could not write: 503, err_code 10077, a description that says so.
func wantStoreFailed(t testing.TB, what string, err error) {
	t.Helper()
	var ae *jetstream.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: err = %v; want a JetStream API error", what, err)
	}
	if ae.Code != 503 || ae.ErrorCode != codeStoreFailed || !strings.Contains(ae.Description, "storage write failed") {
		t.Fatalf("%s: error %d/%d %q; want 503/%d \"storage write failed: ...\"", what, ae.Code, ae.ErrorCode, ae.Description, codeStoreFailed)
	}
}

// diskPayload is message i of these tests: 512 bytes that say which.
func diskPayload(i int) []byte {
	b := fmt.Appendf(nil, "m-%06d-", i)
	return append(b, bytes.Repeat([]byte{'x'}, 512-len(b))...)
}

// fillDisk publishes message after message to subject, whose stream is
// empty, until the stream refuses one, checking each PubAck, and returns
// the payloads stored (the one at index i has sequence i+1) and the index
// of the next payload.
func fillDisk(t testing.TB, js jetstream.JetStream, subject string, from int) (stored []string, next int) {
	t.Helper()
	ctx := jsCtx(t)
	for i := from; ; i++ {
		if i > from+2000 {
			t.Fatal("the stream never ran out of space")
		}
		ack, err := js.Publish(ctx, subject, diskPayload(i))
		if err != nil {
			wantStoreFailed(t, fmt.Sprintf("publish %d on a full disk", i), err)
			return stored, i + 1
		}
		if want := uint64(len(stored) + 1); ack.Sequence != want {
			t.Fatalf("publish %d: seq %d; want %d", i, ack.Sequence, want)
		}
		stored = append(stored, string(diskPayload(i)))
	}
}

// wantRefused publishes n messages at once while the disk is full and
// checks that every one is answered with the store error and none is
// acknowledged.
func wantRefused(t testing.TB, js jetstream.JetStream, subject string, from, n int) {
	t.Helper()
	ctx := jsCtx(t)
	futures := make([]jetstream.PubAckFuture, n)
	for i := range futures {
		f, err := js.PublishAsync(subject, diskPayload(from+i))
		if err != nil {
			t.Fatal(err)
		}
		futures[i] = f
	}
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			t.Fatalf("async publish %d on a full disk acknowledged at seq %d", from+i, ack.Sequence)
		case err := <-f.Err():
			wantStoreFailed(t, fmt.Sprintf("async publish %d on a full disk", from+i), err)
		case <-ctx.Done():
			t.Fatalf("async publish %d on a full disk: no answer", from+i)
		}
	}
}

// publishUntilAccepted retries a publish while the store refuses it (each
// refusal must be the store error) and returns its PubAck.
func publishUntilAccepted(t testing.TB, js jetstream.JetStream, subject string, data []byte) *jetstream.PubAck {
	t.Helper()
	var ack *jetstream.PubAck
	waitUntil(t, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, err := js.Publish(ctx, subject, data)
		if err != nil {
			wantStoreFailed(t, "publish after space was freed", err)
			return err
		}
		ack = a
		return nil
	})
	return ack
}

// wantStreamHolds checks that stream name holds exactly want, at
// sequences 1..len(want), in order.
func wantStreamHolds(t testing.TB, js jetstream.JetStream, name string, want []string) {
	t.Helper()
	ctx := jsCtx(t)
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := info.State
	if st.Msgs != uint64(len(want)) || st.FirstSeq != 1 || st.LastSeq != uint64(len(want)) || st.NumDeleted != 0 {
		t.Fatalf("stream %s: msgs %d first %d last %d deleted %d; want exactly the %d acknowledged messages",
			name, st.Msgs, st.FirstSeq, st.LastSeq, st.NumDeleted, len(want))
	}
	for i, p := range want {
		m, err := s.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatalf("seq %d: %v", i+1, err)
		}
		if string(m.Data) != p {
			t.Fatalf("seq %d holds %.10q; its PubAck was for %.10q", i+1, m.Data, p)
		}
	}
}

// TestJSDiskFullRefusesPublishesAndResumes fills the disk under a running
// daemon: the publish that does not fit, and every one after it, is
// answered with a JetStream store error and never acknowledged; stored
// messages stay readable and consumable; the failure is logged once. Once
// space is freed, publishing resumes without a restart, right after the
// last acknowledged message. After kill -9 and a restart the stream holds
// exactly the acknowledged messages, in order.
func TestJSDiskFullRefusesPublishesAndResumes(t *testing.T) {
	base := t.TempDir()
	d, logs := startLoggedDaemon(t, base)
	pid := d.cmd.Process.Pid
	js := connectJS(t, d.url)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "FULL", Subjects: []string{"full.>"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})

	// 64 KiB per file: the WAL segment (2 MiB) runs into it part-way
	// through a write.
	setFileSizeLimit(t, pid, 64<<10)
	acked, next := fillDisk(t, js, "full.data", 0)
	if len(acked) < 50 {
		t.Fatalf("only %d messages fitted in 64 KiB", len(acked))
	}
	for range 20 {
		_, err := js.Publish(ctx, "full.data", diskPayload(next))
		wantStoreFailed(t, fmt.Sprintf("publish %d on a full disk", next), err)
		next++
	}
	wantRefused(t, js, "full.data", next, 200)
	next += 200
	// While the disk stays full, publishes stay refused, across the
	// stream's retries of its store (the first after 100ms, then at
	// doubling intervals), which must neither succeed nor log again.
	for until := time.Now().Add(1500 * time.Millisecond); time.Now().Before(until); next++ {
		_, err := js.Publish(ctx, "full.data", diskPayload(next))
		wantStoreFailed(t, fmt.Sprintf("publish %d on a full disk", next), err)
		time.Sleep(20 * time.Millisecond) // spread them over the retries
	}

	// What is stored stays readable and consumable.
	info := mustInfo(t, s)
	if info.State.Msgs != uint64(len(acked)) || info.State.LastSeq != uint64(len(acked)) {
		t.Fatalf("on a full disk: msgs %d last %d; want %d acknowledged", info.State.Msgs, info.State.LastSeq, len(acked))
	}
	m, err := s.GetMsg(ctx, uint64(len(acked)))
	if err != nil || string(m.Data) != acked[len(acked)-1] {
		t.Fatalf("get last acknowledged message on a full disk: %v", err)
	}
	got := fetchData(t, c, len(acked), 5*time.Second, true)
	if !equalList(got, acked) {
		t.Fatalf("consumer on a full disk got %d messages; want the %d acknowledged ones in order", len(got), len(acked))
	}
	logs.waitLog(t, logStoreFailed, 1)

	// Space comes back: the next publish is stored right after the last
	// acknowledged message, with nothing of the refused ones in between.
	freeSpace(t, pid)
	ack := publishUntilAccepted(t, js, "full.data", diskPayload(next))
	if ack.Sequence != uint64(len(acked)+1) {
		t.Fatalf("first publish after space was freed: seq %d; want %d", ack.Sequence, len(acked)+1)
	}
	acked = append(acked, string(diskPayload(next)))
	next++
	for range 10 {
		mustPublish(t, js, "full.data", string(diskPayload(next)), uint64(len(acked)+1))
		acked = append(acked, string(diskPayload(next)))
		next++
	}
	got = fetchData(t, c, 11, 5*time.Second, true)
	if !equalList(got, acked[len(acked)-11:]) {
		t.Fatalf("consumer after space was freed got %d messages; want the 11 new ones", len(got))
	}
	logs.waitLog(t, logStoreRecovered, 1)
	if n := logs.count(logStoreFailed); n != 1 {
		t.Fatalf("%d log lines contain %q; want 1", n, logStoreFailed)
	}
	if n := logs.count("panic"); n != 0 {
		t.Fatalf("the daemon panicked:\n%s", logs)
	}

	d.kill()
	d2, _ := startLoggedDaemon(t, base)
	wantStreamHolds(t, connectJS(t, d2.url), "FULL", acked)
}

// TestJSDiskFullCrashWhileFull kills the daemon while the disk is full and
// writes are being refused (the last one torn part-way through) and checks
// that the restarted daemon holds exactly the acknowledged messages and
// takes new ones after them.
func TestJSDiskFullCrashWhileFull(t *testing.T) {
	base := t.TempDir()
	d, logs := startLoggedDaemon(t, base)
	js := connectJS(t, d.url)
	mustCreate(t, js, jetstream.StreamConfig{Name: "CRASHFULL", Subjects: []string{"cf.>"}})

	setFileSizeLimit(t, d.cmd.Process.Pid, 48<<10)
	acked, next := fillDisk(t, js, "cf.data", 0)
	wantRefused(t, js, "cf.data", next, 50)
	next += 50
	logs.waitLog(t, logStoreFailed, 1)
	d.kill()

	d2, logs2 := startLoggedDaemon(t, base)
	js2 := connectJS(t, d2.url)
	wantStreamHolds(t, js2, "CRASHFULL", acked)
	mustPublish(t, js2, "cf.data", string(diskPayload(next)), uint64(len(acked)+1))
	wantStreamHolds(t, js2, "CRASHFULL", append(acked, string(diskPayload(next))))
	if n := logs2.count("panic"); n != 0 {
		t.Fatalf("a daemon panicked:\n%s", logs2)
	}
}

// TestJSDiskFullWithholdsAckSync fills the disk so that nothing can grow,
// not even a consumer's state: an AckSync is then not confirmed (the ack
// is not on disk), while the messages stay readable. Once space is freed
// the same ack is confirmed, and after kill -9 and a restart the acked
// messages are not delivered again.
func TestJSDiskFullWithholdsAckSync(t *testing.T) {
	base := t.TempDir()
	d, logs := startLoggedDaemon(t, base)
	pid := d.cmd.Process.Pid
	js := connectJS(t, d.url)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "ACKFULL", Subjects: []string{"af.>"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	var stored []string
	for i := range 5 {
		mustPublish(t, js, "af.data", string(diskPayload(i)), uint64(i+1))
		stored = append(stored, string(diskPayload(i)))
	}

	setFileSizeLimit(t, pid, 0)
	b, err := c.Fetch(5, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	if len(msgs) != 5 {
		t.Fatalf("fetched %d messages on a full disk; want 5 (%v)", len(msgs), b.Error())
	}
	for i, m := range msgs {
		if string(m.Data()) != stored[i] {
			t.Fatalf("message %d on a full disk: %.10q; want %.10q", i, m.Data(), stored[i])
		}
	}
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	err = msgs[0].DoubleAck(short)
	cancel()
	if err == nil {
		t.Fatal("AckSync confirmed while the consumer's state cannot be written")
	}
	_, err = js.Publish(jsCtx(t), "af.data", diskPayload(5))
	wantStoreFailed(t, "publish when nothing can grow", err)
	if m, err := s.GetMsg(jsCtx(t), 5); err != nil || string(m.Data) != stored[4] {
		t.Fatalf("get seq 5 on a full disk: %v", err)
	}
	logs.waitLog(t, logStateFailed, 1)

	freeSpace(t, pid)
	for i, m := range msgs {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		err := m.DoubleAck(ctx)
		cancel()
		if err != nil {
			t.Fatalf("AckSync of message %d after space was freed: %v", i, err)
		}
	}
	ack := publishUntilAccepted(t, js, "af.data", diskPayload(6))
	if ack.Sequence != 6 {
		t.Fatalf("first publish after space was freed: seq %d; want 6", ack.Sequence)
	}
	logs.waitLog(t, logStateRecovered, 1)
	logs.waitLog(t, logStoreRecovered, 1)
	if n := logs.count(logStateFailed); n != 1 {
		t.Fatalf("%d log lines contain %q; want 1", n, logStateFailed)
	}

	d.kill()
	d2, _ := startLoggedDaemon(t, base)
	js2 := connectJS(t, d2.url)
	s2, err := js2.Stream(jsCtx(t), "ACKFULL")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s2.Consumer(jsCtx(t), "C")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := c2.Info(jsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ci.NumAckPending != 0 || ci.AckFloor.Stream != 5 {
		t.Fatalf("after restart: ack pending %d, ack floor %d; want 0, 5 (the confirmed acks)", ci.NumAckPending, ci.AckFloor.Stream)
	}
	if got := fetchData(t, c2, 10, 2*time.Second, true); !equalList(got, []string{string(diskPayload(6))}) {
		t.Fatalf("after restart the consumer got %d messages; want only the one published after the fault", len(got))
	}
}

// TestJSDiskFullConfigChanges: while nothing can be written, creating a
// stream or a consumer and updating either fail with an API error that
// says why, and change nothing, in memory or on disk. Once space is freed
// the same requests succeed without a restart.
func TestJSDiskFullConfigChanges(t *testing.T) {
	base := t.TempDir()
	d, _ := startLoggedDaemon(t, base)
	js := connectJS(t, d.url)
	ctx := jsCtx(t)
	cfg := jetstream.StreamConfig{Name: "CFG", Subjects: []string{"cfg.>"}, MaxMsgs: 100}
	s := mustCreate(t, js, cfg)
	ccfg := jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy, Description: "before"}
	mustConsumer(t, s, ccfg)

	setFileSizeLimit(t, d.cmd.Process.Pid, 0)
	wantRefusedChange := func(what string, err error) {
		t.Helper()
		var ae *jetstream.APIError
		if !errors.As(err, &ae) || ae.Code < 500 || !strings.Contains(ae.Description, "storage write failed: file too large") ||
			strings.Contains(ae.Description, base) {
			t.Fatalf("%s on a full disk: %v; want a 5xx API error that says storage write failed, without paths", what, err)
		}
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "NEW", Subjects: []string{"new.>"}})
	wantRefusedChange("create stream", err)
	updated := cfg
	updated.MaxMsgs = 5
	_, err = js.UpdateStream(ctx, updated)
	wantRefusedChange("update stream", err)
	_, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jetstream.AckExplicitPolicy})
	wantRefusedChange("create consumer", err)
	cupdated := ccfg
	cupdated.Description = "after"
	_, err = s.UpdateConsumer(ctx, cupdated)
	wantRefusedChange("update consumer", err)

	// Nothing changed, in the running daemon or, after kill -9, on disk.
	wantUnchanged := func(js jetstream.JetStream) {
		t.Helper()
		var names []string
		for n := range js.StreamNames(ctx).Name() {
			names = append(names, n)
		}
		if !equalList(names, []string{"CFG"}) {
			t.Fatalf("streams %v; want only CFG", names)
		}
		s, err := js.Stream(ctx, "CFG")
		if err != nil {
			t.Fatal(err)
		}
		if info := mustInfo(t, s); info.Config.MaxMsgs != 100 {
			t.Fatalf("CFG max_msgs %d; want the 100 it had", info.Config.MaxMsgs)
		}
		var consumers []string
		for n := range s.ConsumerNames(ctx).Name() {
			consumers = append(consumers, n)
		}
		if !equalList(consumers, []string{"C"}) {
			t.Fatalf("consumers %v; want only C", consumers)
		}
		c, err := s.Consumer(ctx, "C")
		if err != nil {
			t.Fatal(err)
		}
		if desc := c.CachedInfo().Config.Description; desc != "before" {
			t.Fatalf("consumer C description %q; want %q", desc, "before")
		}
	}
	wantUnchanged(js)

	freeSpace(t, d.cmd.Process.Pid)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LATER", Subjects: []string{"later.>"}}); err != nil {
		t.Fatalf("create stream after space was freed: %v", err)
	}
	if err := js.DeleteStream(ctx, "LATER"); err != nil {
		t.Fatal(err)
	}
	d.kill()
	d2, _ := startLoggedDaemon(t, base)
	wantUnchanged(connectJS(t, d2.url))
}
