package tests

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// batchAck is the commit's answer to an atomic batch publish.
type batchAck struct {
	Stream string              `json:"stream"`
	Seq    uint64              `json:"seq"`
	Batch  string              `json:"batch"`
	Count  int                 `json:"count"`
	Error  *jetstream.APIError `json:"error"`
}

func (a batchAck) code() jetstream.ErrorCode {
	if a.Error == nil {
		return 0
	}
	return a.Error.ErrorCode
}

// batchMsg is message seq of batch id; commit is "" for none.
func batchMsg(subject, data, id string, seq int, commit string, kv ...string) *nats.Msg {
	m := natsMsg(subject, data, kv...)
	m.Header.Set("Nats-Batch-Id", id)
	m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(seq))
	if commit != "" {
		m.Header.Set("Nats-Batch-Commit", commit)
	}
	return m
}

// request sends m and decodes the answer as a batch PubAck.
func batchRequest(t *testing.T, nc *nats.Conn, m *nats.Msg) batchAck {
	t.Helper()
	r, err := nc.RequestMsg(m, defaultReqTimeout)
	if err != nil {
		t.Fatalf("request %s seq %s: %v", m.Header.Get("Nats-Batch-Id"), m.Header.Get("Nats-Batch-Sequence"), err)
	}
	var a batchAck
	if err := json.Unmarshal(r.Data, &a); err != nil {
		t.Fatalf("answer %q: %v", r.Data, err)
	}
	return a
}

// publishBatch stages msgs[:len-1] without replies and commits with the
// last one, returning the commit's answer.
func publishBatch(t *testing.T, nc *nats.Conn, msgs []*nats.Msg) batchAck {
	t.Helper()
	for _, m := range msgs[:len(msgs)-1] {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	return batchRequest(t, nc, msgs[len(msgs)-1])
}

func atomicStream(t *testing.T, js jetstream.JetStream, name string, atomic bool) jetstream.Stream {
	t.Helper()
	return mustCreate(t, js, jetstream.StreamConfig{
		Name: name, Subjects: []string{strings.ToLower(name) + ".>"},
		AllowAtomicPublish: atomic,
	})
}

func TestAtomicBatchCommitStoresWholeBatch(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := atomicStream(t, js, "B", true)
	mustPublish(t, js, "b.before", "x", 1)

	var msgs []*nats.Msg
	for i := 1; i <= 10; i++ {
		commit := ""
		if i == 10 {
			commit = "1"
		}
		msgs = append(msgs, batchMsg("b.reading."+strconv.Itoa(i%3), "r"+strconv.Itoa(i), "gw-1", i, commit))
	}
	// Nothing is visible before the commit.
	for _, m := range msgs[:9] {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, nc)
	wantMsgs(t, s, 1, 1)

	a := batchRequest(t, nc, msgs[9])
	if a.Error != nil || a.Stream != "B" || a.Seq != 11 || a.Batch != "gw-1" || a.Count != 10 {
		t.Fatalf("commit answer = %+v; want stream B, seq 11, batch gw-1, count 10", a)
	}
	wantMsgs(t, s, 11, 11)
	ctx := jsCtx(t)
	for i := 1; i <= 10; i++ {
		m, err := s.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != "r"+strconv.Itoa(i) || m.Header.Get("Nats-Batch-Sequence") != strconv.Itoa(i) {
			t.Errorf("seq %d = %q (batch seq %q); want r%d in order", i+1, m.Data, m.Header.Get("Nats-Batch-Sequence"), i)
		}
	}
	// The same id starts a new batch once the first is committed.
	a = publishBatch(t, nc, []*nats.Msg{batchMsg("b.x", "1", "gw-1", 1, ""), batchMsg("b.x", "2", "gw-1", 2, "1")})
	if a.Error != nil || a.Seq != 13 || a.Count != 2 {
		t.Fatalf("second batch = %+v; want seq 13, count 2", a)
	}
}

func TestAtomicBatchStagedMessageGetsEmptyAnswer(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	atomicStream(t, js, "B", true)
	r, err := nc.RequestMsg(batchMsg("b.1", "a", "id", 1, ""), defaultReqTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Data) != 0 || len(r.Header) != 0 {
		t.Fatalf("staged answer = %q %v; want an empty message", r.Data, r.Header)
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "b", "id", 2, "1")); a.Error != nil || a.Count != 2 || a.Seq != 2 {
		t.Fatalf("commit = %+v", a)
	}
}

func TestAtomicBatchEndOfBatchMarkerIsNotStored(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := atomicStream(t, js, "B", true)
	a := publishBatch(t, nc, []*nats.Msg{
		batchMsg("b.1", "a", "e", 1, ""),
		batchMsg("b.1", "b", "e", 2, ""),
		batchMsg("b.1", "marker", "e", 3, "eob"),
	})
	if a.Error != nil || a.Seq != 2 || a.Count != 2 {
		t.Fatalf("eob commit = %+v; want seq 2, count 2", a)
	}
	wantMsgs(t, s, 2, 2)
	m, err := s.GetMsg(jsCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != "b" || m.Header.Get("Nats-Batch-Commit") != "1" {
		t.Fatalf("last stored = %q commit %q; want b with Nats-Batch-Commit: 1", m.Data, m.Header.Get("Nats-Batch-Commit"))
	}
	// An end marker alone is no batch.
	if a := batchRequest(t, nc, batchMsg("b.1", "", "e2", 1, "eob")); a.code() != 10176 {
		t.Fatalf("lone eob = %+v; want 10176", a)
	}
}

// A batch any of whose messages the stream refuses stores nothing.
func TestAtomicBatchAllOrNothing(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{
		Name: "B", Subjects: []string{"b.>"}, AllowAtomicPublish: true,
		MaxMsgSize: 200,
	})
	mustPublish(t, js, "b.k", "v1", 1, jetstream.WithMsgID("known"))
	cases := []struct {
		name  string
		third *nats.Msg
		want  jetstream.ErrorCode
	}{
		{"wrong expected last sequence", batchMsg("b.x", "c", "", 3, "1", "Nats-Expected-Last-Sequence", "1"), 10071},
		{"duplicate of a stored message", batchMsg("b.x", "c", "", 3, "1", "Nats-Msg-Id", "known"), 10201},
		{"duplicate within the batch", batchMsg("b.x", "c", "", 3, "1", "Nats-Msg-Id", "m1"), 10201},
		{"expected last msg id", batchMsg("b.x", "c", "", 3, "1", "Nats-Expected-Last-Msg-Id", "known"), 10177},
		{"expected stream", batchMsg("b.x", "c", "", 3, "1", "Nats-Expected-Stream", "OTHER"), 10060},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "b" + strconv.Itoa(i)
			tc.third.Header.Set("Nats-Batch-Id", id)
			a := publishBatch(t, nc, []*nats.Msg{
				batchMsg("b.x", "a", id, 1, "", "Nats-Msg-Id", "m1"),
				batchMsg("b.x", "b", id, 2, ""),
				tc.third,
			})
			if a.code() != tc.want {
				t.Fatalf("commit = %+v; want error %d", a, tc.want)
			}
			wantMsgs(t, s, 1, 1)
		})
	}
	// A refused batch leaves nothing behind: its ids are free.
	mustPublish(t, js, "b.y", "z", 2, jetstream.WithMsgID("m1"))

	// A message too large ends the batch at once.
	big := strings.Repeat("x", 300)
	if a := batchRequest(t, nc, batchMsg("b.x", big, "big", 1, "")); a.code() != 10054 {
		t.Fatalf("too large = %+v; want 10054", a)
	}
	if a := batchRequest(t, nc, batchMsg("b.x", "ok", "big", 2, "1")); a.code() != 10176 {
		t.Fatalf("commit after a refused message = %+v; want 10176", a)
	}
	wantMsgs(t, s, 2, 2)
}

func TestAtomicBatchErrors(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	off := atomicStream(t, js, "OFF", false)
	atomicStream(t, js, "B", true)

	if a := batchRequest(t, nc, batchMsg("off.1", "a", "x", 1, "1")); a.code() != 10174 {
		t.Errorf("disabled = %+v; want 10174", a)
	}
	wantMsgs(t, off, 0, 0)

	missing := natsMsg("b.1", "a", "Nats-Batch-Id", "x")
	if a := batchRequest(t, nc, missing); a.code() != 10175 {
		t.Errorf("no sequence = %+v; want 10175", a)
	}
	bad := natsMsg("b.1", "a", "Nats-Batch-Id", "x", "Nats-Batch-Sequence", "one")
	if a := batchRequest(t, nc, bad); a.code() != 10175 {
		t.Errorf("sequence not a number = %+v; want 10175", a)
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "a", strings.Repeat("i", 65), 1, "")); a.code() != 10179 {
		t.Errorf("65-byte id = %+v; want 10179", a)
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "a", strings.Repeat("i", 64), 1, "1")); a.Error != nil {
		t.Errorf("64-byte id = %+v; want stored", a)
	}
	nc.PublishMsg(batchMsg("b.1", "a", "c", 1, ""))
	if a := batchRequest(t, nc, batchMsg("b.1", "b", "c", 2, "yes")); a.code() != 10200 {
		t.Errorf("commit yes = %+v; want 10200", a)
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "b", "unknown", 5, "1")); a.code() != 10176 {
		t.Errorf("commit of an unknown batch = %+v; want 10176", a)
	}
	nc.PublishMsg(batchMsg("b.1", "a", "gap", 1, ""))
	if a := batchRequest(t, nc, batchMsg("b.1", "c", "gap", 3, "")); a.code() != 10176 {
		t.Errorf("gap = %+v; want 10176", a)
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "b", "gap", 2, "1")); a.code() != 10176 {
		t.Errorf("commit after a gap = %+v; want 10176", a)
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "b", "huge", 1001, "1")); a.code() != 10199 {
		t.Errorf("sequence 1001 = %+v; want 10199", a)
	}
}

func TestAtomicBatchSizeAndInflightLimits(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := atomicStream(t, js, "B", true)

	// 1,000 messages is the most one batch holds.
	var msgs []*nats.Msg
	for i := 1; i <= 1000; i++ {
		msgs = append(msgs, batchMsg("b.1", "m", "full", i, ""))
	}
	msgs[999].Header.Set("Nats-Batch-Commit", "1")
	if a := publishBatch(t, nc, msgs); a.Error != nil || a.Count != 1000 || a.Seq != 1000 {
		t.Fatalf("1000-message batch = %+v", a)
	}
	for i := 1; i <= 1000; i++ {
		nc.PublishMsg(batchMsg("b.1", "m", "over", i, ""))
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "m", "over", 1001, "1")); a.code() != 10199 {
		t.Fatalf("1001st message = %+v; want 10199", a)
	}
	wantMsgs(t, s, 1000, 1000)

	// 50 batches may be open at once on one stream.
	for i := range 50 {
		nc.PublishMsg(batchMsg("b.1", "m", "open"+strconv.Itoa(i), 1, ""))
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "m", "open50", 1, "")); a.code() != 10210 || a.Error.Code != 429 {
		t.Fatalf("51st open batch = %+v; want 429 10210", a)
	}
	// Committing one makes room for another.
	if a := batchRequest(t, nc, batchMsg("b.1", "m", "open0", 2, "1")); a.Error != nil {
		t.Fatalf("commit open0 = %+v", a)
	}
	if a := batchRequest(t, nc, batchMsg("b.1", "m", "open50", 1, "1")); a.Error != nil {
		t.Fatalf("open50 after a commit = %+v", a)
	}
}

// Batches from several publishers, interleaved with plain publishes, each
// land whole and contiguous.
func TestAtomicBatchConcurrentPublishers(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := atomicStream(t, js, "B", true)
	const pubs, batches, size = 4, 20, 25
	errs := make(chan error, pubs)
	for p := range pubs {
		nc := connectNATS(t, j.srv)
		go func() {
			errs <- func() error {
				for b := range batches {
					id := fmt.Sprintf("p%d-%d", p, b)
					for i := 1; i < size; i++ {
						if err := nc.PublishMsg(batchMsg("b.p", strconv.Itoa(p), id, i, "")); err != nil {
							return err
						}
					}
					if err := nc.Publish("b.plain", []byte("plain")); err != nil {
						return err
					}
					r, err := nc.RequestMsg(batchMsg("b.p", strconv.Itoa(p), id, size, "1"), defaultReqTimeout)
					if err != nil {
						return err
					}
					var a batchAck
					if err := json.Unmarshal(r.Data, &a); err != nil || a.Error != nil || a.Count != size {
						return fmt.Errorf("%s: %s (%v)", id, r.Data, err)
					}
				}
				return nil
			}()
		}()
	}
	for range pubs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	total := uint64(pubs * batches * (size + 1))
	wantMsgs(t, s, total, total)
	// Walk the stream: every batch is one contiguous run of its sequences.
	ctx := jsCtx(t)
	run := ""
	next := 1
	for seq := uint64(1); seq <= total; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		id := m.Header.Get("Nats-Batch-Id")
		if id == "" {
			continue
		}
		bs, _ := strconv.Atoi(m.Header.Get("Nats-Batch-Sequence"))
		if bs == 1 {
			if next != 1 {
				t.Fatalf("seq %d: batch %s starts inside batch %s", seq, id, run)
			}
			run = id
		}
		if id != run || bs != next {
			t.Fatalf("seq %d: batch %s message %d inside batch %s at %d", seq, id, bs, run, next)
		}
		next++
		if next > size {
			next = 1
		}
	}
}

// An acknowledged batch survives a restart; one still open at the restart
// was never acknowledged and its commit is refused.
func TestAtomicBatchRestart(t *testing.T) {
	dir := t.TempDir()
	j := startJS(t, dir)
	nc, js := jsConnect(t, j)
	atomicStream(t, js, "B", true)
	if a := publishBatch(t, nc, []*nats.Msg{batchMsg("b.1", "a", "done", 1, ""), batchMsg("b.1", "b", "done", 2, "1")}); a.Error != nil {
		t.Fatal(a.Error)
	}
	if err := nc.PublishMsg(batchMsg("b.1", "c", "open", 1, "")); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, nc)
	nc.Close()
	j.stop()

	j = startJS(t, dir)
	nc, js = jsConnect(t, j)
	s, err := js.Stream(jsCtx(t), "B")
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs(t, s, 2, 2)
	if a := batchRequest(t, nc, batchMsg("b.1", "d", "open", 2, "1")); a.code() != 10176 {
		t.Fatalf("commit of a batch opened before the restart = %+v; want 10176", a)
	}
	wantMsgs(t, s, 2, 2)
}

// The nats CLI's atomic batch benchmark runs against the server and every
// message it sent is stored.
func TestAtomicBatchNatsBench(t *testing.T) {
	natsCLI := needTool(t, "nats", "go install github.com/nats-io/natscli/nats@v0.4.0")
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	cmd := exec.Command(natsCLI, "--server", j.srv.ClientURL(), "bench", "js", "pub", "batch", "bench.batch",
		"--msgs", "3000", "--batch", "250", "--size", "64", "--create", "--stream", "BATCHBENCH", "--no-progress")
	out, err := runWithTimeout(cmd, 60*time.Second)
	if err != nil {
		t.Fatalf("nats bench js pub batch: %v\n%s", err, out)
	}
	s, err := js.Stream(jsCtx(t), "BATCHBENCH")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	info := mustInfo(t, s)
	if !info.Config.AllowAtomicPublish || info.State.Msgs != 3000 {
		t.Fatalf("allow_atomic %v, %d messages; want true, 3000\n%s", info.Config.AllowAtomicPublish, info.State.Msgs, out)
	}
}

// wantMsgs fails unless the stream holds msgs messages, the last at last.
func wantMsgs(t testing.TB, s jetstream.Stream, msgs, last uint64) {
	t.Helper()
	info := mustInfo(t, s)
	if info.State.Msgs != msgs || info.State.LastSeq != last {
		t.Fatalf("stream %s holds %d messages, last %d; want %d, last %d", info.Config.Name, info.State.Msgs, info.State.LastSeq, msgs, last)
	}
}

// runWithTimeout runs cmd, killing it after d.
func runWithTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return []byte(buf.String()), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return []byte(buf.String()), fmt.Errorf("still running after %v", d)
	}
}
