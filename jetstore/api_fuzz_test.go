package jetstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// errorLog records every error-level log record. A handler that panics
// is recovered by dispatch and logged as "API request failed": the tests
// treat that record as the bug it is.
type errorLog struct {
	mu   sync.Mutex
	recs []string
}

type errorLogHandler struct{ l *errorLog }

func (h errorLogHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (h errorLogHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h errorLogHandler) WithGroup(string) slog.Handler                 { return h }
func (h errorLogHandler) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value)
		return true
	})
	h.l.mu.Lock()
	h.l.recs = append(h.l.recs, sb.String())
	h.l.mu.Unlock()
	return nil
}

// check fails the test on any recorded error.
func (l *errorLog) check(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		t.Errorf("error logged: %s", r)
	}
}

// quick bounds what must not wait for anything: a request, a close, a
// refusal. Speed is for the benchmarks; this only catches a request that
// waits for a timeout (the replay loop's PubAck wait is 10s) or works in
// quadratic time, with room for a loaded machine under -race.
const quick = 5 * time.Second

// fuzzEnv is a stream layer on a fake bus with a known stream, "S"
// (file storage, subjects s.>), holding seedMsgs messages, a memory stream
// "M" and a durable pull consumer "C" on S.
type fuzzEnv struct {
	bus   *fakeBus
	js    *JetStream
	log   *errorLog
	seeds []store.StoredMsg
	n     int // requests sent, for unique inboxes
}

const seedMsgs = 5

func newFuzzEnv(t testing.TB) *fuzzEnv {
	t.Helper()
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	js, err := Open(e.bus, Config{StoreDir: t.TempDir(), Sync: SyncNever, Logger: slog.New(errorLogHandler{e.log})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		start := time.Now()
		js.Close()
		if d := time.Since(start); d > quick {
			t.Errorf("Close took %v", d)
		}
	})
	e.js = js
	e.mustOK(t, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"],"allow_direct":true,"allow_rollup_hdrs":true,"allow_msg_ttl":true}`)
	e.mustOK(t, "STREAM.CREATE.M", `{"name":"M","subjects":["m.>"],"storage":"memory"}`)
	e.mustOK(t, "CONSUMER.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}`)
	for i := range seedMsgs {
		hdr := []byte("NATS/1.0\r\nNats-Msg-Id: seed-" + strconv.Itoa(i) + "\r\n\r\n")
		data := []byte("payload " + strconv.Itoa(i))
		subj := "s.seed." + strconv.Itoa(i%2)
		inbox := "_INBOX.seed." + strconv.Itoa(i)
		e.bus.Publish(subj, inbox, hdr, data)
		ack := e.bus.waitFor(t, inbox, 1)[0]
		var pa PubAck
		if err := json.Unmarshal(ack.Data, &pa); err != nil || pa.Error != nil || pa.Seq != uint64(i+1) {
			t.Fatalf("seed PubAck %q: %v", ack.Data, err)
		}
		e.seeds = append(e.seeds, store.StoredMsg{Seq: pa.Seq, Subject: subj, Header: hdr, Data: data})
	}
	return e
}

// replayOp stands for the dead-letter replay API in the fuzz targets'
// ops, which are otherwise subjects after $JS.API.
const replayOp = "WREN.REPLAY."

// request dispatches an API request as the API loop would (or a replay
// request as the replay loop would) and returns the replies it produced. A request that takes more than 10s fails the test.
func (e *fuzzEnv) request(t testing.TB, op string, body []byte) (inbox string, replies []*protocol.Msg) {
	t.Helper()
	e.n++
	inbox = "_INBOX.fuzz." + strconv.Itoa(e.n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if name, ok := strings.CutPrefix(op, replayOp); ok {
			// What the replay loop does with a request.
			e.js.respond(inbox, e.js.replayFor(name, body, nil))
			return
		}
		e.js.dispatch(&protocol.Msg{Subject: []byte(apiPrefix + op), Reply: []byte(inbox), Data: body})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %q (%d bytes): no answer after 10s", op, trunc(body), len(body))
	}
	return inbox, e.bus.to(inbox)
}

func (e *fuzzEnv) mustOK(t testing.TB, op, body string) {
	t.Helper()
	_, replies := e.request(t, op, []byte(body))
	if len(replies) != 1 {
		t.Fatalf("%s: %d replies; want 1", op, len(replies))
	}
	if isErr, err := checkAPIReply(replies[0].Data); err != nil || isErr {
		t.Fatalf("%s: %s (%v)", op, replies[0].Data, err)
	}
}

// apiErrorReply is the error object every failed request carries.
type apiErrorReply struct {
	Error *struct {
		Code        *int    `json:"code"`
		ErrCode     *uint16 `json:"err_code"`
		Description *string `json:"description"`
	} `json:"error"`
	Type string `json:"type"`
}

// checkAPIReply checks that b is a JSON object that is either an error
// (status code, JetStream err_code and description all given) or a typed
// response; it reports which.
func checkAPIReply(b []byte) (isErr bool, err error) {
	var r apiErrorReply
	if err := json.Unmarshal(b, &r); err != nil {
		return false, fmt.Errorf("reply is not a JSON object: %v", err)
	}
	if r.Error != nil {
		e := r.Error
		if e.Code == nil || *e.Code < 400 || *e.Code > 599 || e.ErrCode == nil || *e.ErrCode == 0 || e.Description == nil || *e.Description == "" {
			return true, fmt.Errorf("incomplete error object")
		}
		return true, nil
	}
	if r.Type == "" {
		return false, fmt.Errorf("success reply without a type")
	}
	return false, nil
}

// checkSeeds fails unless S holds exactly the seeded messages, unchanged.
func (e *fuzzEnv) checkSeeds(t testing.TB) {
	t.Helper()
	st := e.checkSeedData(t)
	if s := st.store.State(); s.Msgs != seedMsgs || s.FirstSeq != 1 || s.LastSeq != seedMsgs {
		t.Fatalf("S state = %+v; want %d messages 1..%d", s, seedMsgs, seedMsgs)
	}
}

// checkSeedData fails unless every seeded message of S loads unchanged.
func (e *fuzzEnv) checkSeedData(t testing.TB) *stream {
	t.Helper()
	st := e.js.lookup("S")
	if st == nil {
		t.Fatal("stream S is gone")
	}
	for _, want := range e.seeds {
		got, err := st.store.Load(want.Seq)
		if err != nil {
			t.Fatalf("seed %d: %v", want.Seq, err)
		}
		if got.Subject != want.Subject || !bytes.Equal(got.Header, want.Header) || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("seed %d = %q %q %q; want %q %q %q", want.Seq, got.Subject, got.Header, got.Data, want.Subject, want.Header, want.Data)
		}
	}
	return st
}

// mutatesS reports whether a successful op may legitimately change what
// stream S holds.
func mutatesS(op string) bool {
	for _, p := range []string{"STREAM.UPDATE.S", "STREAM.DELETE.S", "STREAM.PURGE.S", "STREAM.MSG.DELETE.S", replayOp + "S"} {
		if op == p {
			return true
		}
	}
	return false
}

// checkDirectReply checks a DIRECT.GET answer: a header-only 400/404
// status, or a stored message of stream name with its headers.
func (e *fuzzEnv) checkDirectReply(t testing.TB, name string, m *protocol.Msg) {
	t.Helper()
	if m.Header == nil {
		t.Fatalf("direct get reply without headers: %q", m.Data)
	}
	if code, _ := protocol.HeaderStatus(m.Header); code != 0 {
		if (code != 400 && code != 404) || len(m.Data) != 0 {
			t.Fatalf("direct get status %d with %d bytes", code, len(m.Data))
		}
		return
	}
	seq, ok := parseUint(protocol.HeaderGet(m.Header, "Nats-Sequence"))
	if string(protocol.HeaderGet(m.Header, "Nats-Stream")) != name || !ok {
		t.Fatalf("direct get reply headers %q", m.Header)
	}
	st := e.js.lookup(name)
	if st == nil {
		t.Fatalf("direct get answered from missing stream %s", name)
	}
	got, err := st.store.Load(seq)
	if err != nil || !bytes.Equal(got.Data, m.Data) {
		t.Fatalf("direct get seq %d: data %q; stored %q (%v)", seq, m.Data, got.Data, err)
	}
}

// apiOps are the request subjects (after $JS.API.) the seeds use.
var apiOps = []string{
	"INFO", "STREAM.CREATE.S", "STREAM.CREATE.N", "STREAM.UPDATE.S", "STREAM.UPDATE.M",
	"STREAM.INFO.S", "STREAM.DELETE.M", "STREAM.PURGE.S", "STREAM.PURGE.M", "STREAM.NAMES",
	"STREAM.LIST", "STREAM.MSG.GET.S", "STREAM.MSG.DELETE.S", "DIRECT.GET.S", "DIRECT.GET.S.s.seed.1",
	"CONSUMER.CREATE.S", "CONSUMER.CREATE.S.D", "CONSUMER.CREATE.S.D.s.>", "CONSUMER.DURABLE.CREATE.S.D",
	"CONSUMER.INFO.S.C", "CONSUMER.DELETE.S.C", "CONSUMER.NAMES.S", "CONSUMER.LIST.S",
	"CONSUMER.MSG.NEXT.S.C", "CONSUMER.MSG.NEXT.S.X", "STREAM", "CONSUMER", "",
	replayOp + "S", replayOp + "M", replayOp + "X",
}

// apiBodies are seed bodies: valid, wrong types, out-of-range numbers,
// nulls, nesting.
var apiBodies = []string{
	``, `{}`, `null`, `[]`, `"x"`, `1`, `{`, "\x00\xff",
	`{"name":"S","subjects":["s.>"],"max_msgs":1}`,
	`{"name":"N","subjects":["n.*"],"first_seq":18446744073709551615}`,
	`{"name":"N","max_age":-1,"duplicate_window":9223372036854775807}`,
	`{"name":"N","subjects":[null,1]}`, `{"name":"N","metadata":{"a":{"b":1}}}`,
	`{"name":1}`, `{"subjects":"s.>"}`, `{"max_msg_size":2147483648}`,
	`{"seq":0}`, `{"seq":18446744073709551615}`, `{"seq":-1}`, `{"seq":3}`,
	`{"last_by_subj":"s.seed.1"}`, `{"next_by_subj":"*.>","seq":2}`, `{"last_by_subj":"..."}`,
	`{"filter":"s.>","keep":1}`, `{"filter":"x..y"}`, `{"seq":1,"keep":1}`,
	`{"offset":-5}`, `{"offset":9223372036854775807}`, `{"subject":"*.*.*.>"}`,
	`{"deleted_details":true,"subjects_filter":">"}`,
	`{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit","backoff":[-1]}}`,
	`{"stream_name":"S","config":{"name":"D","deliver_policy":"by_start_sequence","opt_start_seq":18446744073709551615}}`,
	`{"stream_name":"S","config":{"durable_name":"D","filter_subjects":["s.>","s.x"]}}`,
	`{"stream_name":"S","config":null,"action":"update"}`,
	`{"batch":-1}`, `{"batch":1,"no_wait":true}`, `{"batch":9223372036854775807,"expires":-1}`, `7`,
	`{"all":true,"keep":true}`, `{"seqs":[1,1,18446744073709551615,0]}`, `{"seq":2,"seqs":null}`,
	`{"a":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`,
}

// FuzzAPIRequest sends one request to the stream layer's API dispatcher.
// Every request is answered exactly once: with JSON that is a typed
// response or a complete error, or for direct gets and pull requests
// with a status message. No handler panics (dispatch would recover and
// log it), and stream S keeps its messages unless the request was one
// that may change them and succeeded.
func FuzzAPIRequest(f *testing.F) {
	for i, op := range apiOps {
		for j, body := range apiBodies {
			if (i+j)%3 == 0 {
				f.Add(op, []byte(body))
			}
		}
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if !protocol.ValidLiteral(apiPrefix+op) || len(body) > 1<<16 || op == replayOp {
			return // the broker routes neither
		}
		e := newFuzzEnv(t)
		start := time.Now()
		inbox, replies := e.request(t, op, body)
		if d := time.Since(start); d > quick {
			t.Errorf("%s %q took %v", op, trunc(body), d)
		}
		e.log.check(t)
		tok := strings.Split(op, ".")
		switch {
		case len(tok) >= 3 && tok[0] == "DIRECT" && tok[1] == "GET":
			if len(replies) != 1 {
				t.Fatalf("%s: %d replies; want 1", op, len(replies))
			}
			e.checkDirectReply(t, tok[2], replies[0])
		case len(tok) == 5 && tok[0] == "CONSUMER" && tok[1] == "MSG" && tok[2] == "NEXT":
			// A refused pull request is answered with an error status;
			// an accepted one with stored messages, from the consumer's
			// goroutine, so any number may have arrived by now.
			for _, m := range replies {
				code, _ := protocol.HeaderStatus(m.Header)
				if code >= 400 && len(m.Data) == 0 {
					continue
				}
				if code != 0 || !bytes.HasPrefix(m.Data, []byte("payload ")) {
					t.Fatalf("%s: reply %q %q; want an error status or a stored message", op, m.Header, m.Data)
				}
			}
		default:
			if len(replies) != 1 {
				t.Fatalf("%s: %d replies; want 1", op, len(replies))
			}
			isErr, err := checkAPIReply(replies[0].Data)
			if err != nil {
				t.Fatalf("%s %q: reply %q: %v", op, trunc(body), replies[0].Data, err)
			}
			if !isErr && mutatesS(op) {
				return
			}
		}
		e.checkSeeds(t)
		// The layer still serves requests.
		e.mustOK(t, "STREAM.INFO.S", "")
		if got := e.bus.to(inbox); len(got) != len(replies) && !strings.HasPrefix(op, "CONSUMER.MSG.NEXT.") {
			t.Fatalf("%s: %d replies in the end; want %d", op, len(got), len(replies))
		}
	})
}

// TestFuzzHugeSubjectList sends configurations with as many subjects as
// a request can carry. Checking them must not hold the API loop, which
// serves every client, for long: they are refused quickly, with an error.
func TestFuzzHugeSubjectList(t *testing.T) {
	e := newFuzzEnv(t)
	var b strings.Builder
	b.WriteString(`{"name":"N","subjects":[`)
	for i := 0; b.Len() < 1<<20-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"n.*.%d"`, i)
	}
	b.WriteString(`]}`)
	for _, op := range []string{"STREAM.CREATE.N", "STREAM.UPDATE.M"} {
		body := strings.Replace(b.String(), `"name":"N"`, `"name":"`+op[len(op)-1:]+`"`, 1)
		start := time.Now()
		_, replies := e.request(t, op, []byte(body))
		if d := time.Since(start); d > quick {
			t.Errorf("%s with %d bytes of subjects took %v", op, len(body), d)
		}
		if isErr, err := checkAPIReply(replies[0].Data); err != nil || !isErr {
			t.Errorf("%s: %.200s; want an error", op, replies[0].Data)
		}
	}
	// As many as a stream may have are taken, still quickly.
	subs := make([]string, maxStreamSubjects)
	for i := range subs {
		subs[i] = fmt.Sprintf(`"n.*.%d"`, i)
	}
	start := time.Now()
	e.mustOK(t, "STREAM.CREATE.N", `{"name":"N","subjects":[`+strings.Join(subs, ",")+`]}`)
	if d := time.Since(start); d > quick {
		t.Errorf("creating a stream with %d subjects took %v", len(subs), d)
	}
	e.mustOK(t, "STREAM.INFO.S", "")
}

// trunc shortens b for failure messages.
func trunc(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "..."...)
	}
	return b
}
