package tests

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestJSStreamPublishSync(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "PUB", Subjects: []string{"pub.>"}})
	for i := range 50 {
		ack := mustPublish(t, js, fmt.Sprintf("pub.%d", i%5), fmt.Sprint(i), uint64(i+1))
		if ack.Stream != "PUB" || ack.Duplicate {
			t.Fatalf("ack = %+v; want stream PUB, not duplicate", ack)
		}
	}
	// Headers and empty payloads are stored as sent.
	m := natsMsg("pub.h", "", "A", "1", "B", "two")
	ack, err := js.PublishMsg(ctx, m)
	if err != nil || ack.Sequence != 51 {
		t.Fatalf("PublishMsg with headers = %v, %v; want seq 51", ack, err)
	}
	got, err := s.GetMsg(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 0 || got.Header.Get("A") != "1" || got.Header.Get("B") != "two" {
		t.Fatalf("stored msg data %q header %v", got.Data, got.Header)
	}
	wantState(t, s, stateSummary{Msgs: 51, FirstSeq: 1, LastSeq: 51, NumSubjects: 6})
}

func TestJSStreamPublishAsync(t *testing.T) {
	const n = 10000
	j := startJS(t, "")
	nc, _ := jsConnect(t, j)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(n+1))
	if err != nil {
		t.Fatal(err)
	}
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "ASYNC", Subjects: []string{"async.>"}})
	futures := publishAsyncAll(t, js, n, func(i int) string { return fmt.Sprintf("async.%d", i%10) })
	seen := make([]bool, n+1)
	seqOf := make([]uint64, n)
	for i, f := range futures {
		seqOf[i] = futureSeq(t, f)
		if seq := seqOf[i]; seq < 1 || seq > n || seen[seq] {
			t.Fatalf("publish %d acked with seq %d: out of range or seen before", i, seq)
		}
		seen[seqOf[i]] = true
	}
	wantState(t, s, stateSummary{Msgs: n, FirstSeq: 1, LastSeq: n, NumSubjects: 10})
	// Each ack names the message it was given for.
	for _, i := range []int{0, 1, 4999, n - 1} {
		m, err := s.GetMsg(jsCtx(t), seqOf[i])
		if err != nil || string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("message acked for publish %d = %v, %v; want data %d", i, m, err, i)
		}
	}
}

// publishAsyncAll publishes n messages asynchronously, message i with
// body i to subject(i), and waits until every one is answered.
func publishAsyncAll(t testing.TB, js jetstream.JetStream, n int, subject func(i int) string) []jetstream.PubAckFuture {
	t.Helper()
	return publishAsyncBodies(t, js, n, subject, func(i int) []byte { return []byte(fmt.Sprint(i)) })
}

// publishAsyncBodies publishes n messages asynchronously, message i with
// body(i) to subject(i), and waits until every one is answered.
func publishAsyncBodies(t testing.TB, js jetstream.JetStream, n int, subject func(i int) string, body func(i int) []byte) []jetstream.PubAckFuture {
	t.Helper()
	futures := make([]jetstream.PubAckFuture, 0, n)
	for i := range n {
		f, err := js.PublishAsync(subject(i), body(i))
		if err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		futures = append(futures, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatalf("acks still pending after 30s: %d", js.PublishAsyncPending())
	}
	return futures
}

// futureSeq returns the sequence of a future's ack; it may be called once
// per future.
func futureSeq(t testing.TB, f jetstream.PubAckFuture) uint64 {
	t.Helper()
	select {
	case ack := <-f.Ok():
		return ack.Sequence
	case err := <-f.Err():
		t.Fatal(err)
	case <-time.After(testTimeout):
		t.Fatal("no ack")
	}
	return 0
}

func TestJSStreamPublishNoStream(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "ONLY", Subjects: []string{"only.>"}})
	start := time.Now()
	_, err := js.Publish(jsCtx(t), "nobody.here", []byte("x"))
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publish to an uncaptured subject: err = %v; want ErrNoStreamResponse", err)
	}
	t.Logf("ErrNoStreamResponse after %v (nats.go retries no-responders)", time.Since(start))
}

func TestJSStreamDedup(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "DUP", Subjects: []string{"dup.>"}})
	steps := []struct {
		subject, id string
		wantSeq     uint64
		wantDup     bool
	}{
		{"dup.a", "id-1", 1, false},
		{"dup.a", "id-1", 1, true},
		{"dup.b", "id-1", 1, true}, // the id matters, not the subject
		{"dup.a", "id-2", 2, false},
		{"dup.a", "", 3, false},
		{"dup.a", "", 4, false},
		{"dup.a", "id-1", 1, true},
		{"dup.a", "id-2", 2, true},
	}
	for i, st := range steps {
		var opts []jetstream.PublishOpt
		if st.id != "" {
			opts = append(opts, jetstream.WithMsgID(st.id))
		}
		ack, err := js.Publish(ctx, st.subject, []byte(fmt.Sprint(i)), opts...)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if ack.Sequence != st.wantSeq || ack.Duplicate != st.wantDup {
			t.Fatalf("step %d (%s %q): seq %d dup %v; want seq %d dup %v", i, st.subject, st.id, ack.Sequence, ack.Duplicate, st.wantSeq, st.wantDup)
		}
	}
	wantState(t, s, stateSummary{Msgs: 4, FirstSeq: 1, LastSeq: 4, NumSubjects: 1})

	// Duplicates inside one group commit: async publishes of the same id.
	futures := make([]jetstream.PubAckFuture, 20)
	for i := range futures {
		f, err := js.PublishAsync("dup.c", []byte("c"), jetstream.WithMsgID("burst"))
		if err != nil {
			t.Fatal(err)
		}
		futures[i] = f
	}
	dups := 0
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Sequence != 5 {
				t.Fatalf("burst ack seq %d; want 5", ack.Sequence)
			}
			if ack.Duplicate {
				dups++
			}
		case err := <-f.Err():
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatal("no ack")
		}
	}
	if dups != len(futures)-1 {
		t.Fatalf("burst of %d: %d duplicates; want %d", len(futures), dups, len(futures)-1)
	}
}

func TestJSStreamDedupWindow(t *testing.T) {
	const window = time.Second
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "WIN", Subjects: []string{"win"}, Duplicates: window})
	if got := mustInfo(t, s).Config.Duplicates; got != window {
		t.Fatalf("duplicate_window = %v; want %v", got, window)
	}
	start := time.Now()
	mustPublish(t, js, "win", "first", 1, jetstream.WithMsgID("k"))
	stored := time.Now() // the message's timestamp is no later than this
	ack := mustPublish(t, js, "win", "again", 0, jetstream.WithMsgID("k"))
	if time.Since(start) < window && (!ack.Duplicate || ack.Sequence != 1) {
		t.Fatalf("inside the window: ack %+v; want duplicate of seq 1", ack)
	}
	// Once the window has passed the id is new again, whenever the
	// server's housekeeping last ran.
	time.Sleep(time.Until(stored.Add(window + 10*time.Millisecond)))
	ack = mustPublish(t, js, "win", "later", 0, jetstream.WithMsgID("k"))
	if ack.Duplicate || ack.Sequence != 2 {
		t.Fatalf("%v after the first publish: ack %+v; want a new message at seq 2", time.Since(start), ack)
	}
	again := time.Now()
	ack = mustPublish(t, js, "win", "dup of 2", 0, jetstream.WithMsgID("k"))
	if time.Since(again) < window && (!ack.Duplicate || ack.Sequence != 2) {
		t.Fatalf("republish right after: %+v; want duplicate of seq 2", ack)
	}
	wantState(t, s, stateSummary{Msgs: 2, FirstSeq: 1, LastSeq: 2, NumSubjects: 1})
}

func TestJSStreamExpectedHeaders(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "EXP", Subjects: []string{"exp.>"}})
	mustCreate(t, js, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"other"}})
	// State before the table: 1 exp.a (id m1), 2 exp.b (id m2), 3 exp.a.
	mustPublish(t, js, "exp.a", "1", 1, jetstream.WithMsgID("m1"))
	mustPublish(t, js, "exp.b", "2", 2, jetstream.WithMsgID("m2"))
	mustPublish(t, js, "exp.a", "3", 3)

	tests := []struct {
		name     string
		subject  string
		opts     []jetstream.PublishOpt
		wantSeq  uint64 // when accepted
		wantCode jetstream.ErrorCode
		wantDesc string
	}{
		{"stream ok", "exp.a", []jetstream.PublishOpt{jetstream.WithExpectStream("EXP")}, 4, 0, ""},
		{"stream wrong", "exp.a", []jetstream.PublishOpt{jetstream.WithExpectStream("OTHER")}, 0, 10060, "expected stream does not match"},
		{"last seq ok", "exp.c", []jetstream.PublishOpt{jetstream.WithExpectLastSequence(4)}, 5, 0, ""},
		{"last seq wrong", "exp.c", []jetstream.PublishOpt{jetstream.WithExpectLastSequence(3)}, 0, 10071, "wrong last sequence: 5"},
		{"last seq zero on a full stream", "exp.c", []jetstream.PublishOpt{jetstream.WithExpectLastSequence(0)}, 0, 10071, "wrong last sequence: 5"},
		{"subject seq ok", "exp.b", []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(2)}, 6, 0, ""},
		{"subject seq wrong", "exp.b", []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(2)}, 0, 10071, "wrong last sequence: 6"},
		{"subject seq of a new subject", "exp.new", []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(0)}, 7, 0, ""},
		{"subject seq for another subject", "exp.z", []jetstream.PublishOpt{jetstream.WithExpectLastSequenceForSubject(4, "exp.a")}, 8, 0, ""},
		{"subject seq for another subject wrong", "exp.z", []jetstream.PublishOpt{jetstream.WithExpectLastSequenceForSubject(3, "exp.a")}, 0, 10071, "wrong last sequence: 4"},
		{"last msg id ok", "exp.a", []jetstream.PublishOpt{jetstream.WithExpectLastMsgID("m2"), jetstream.WithMsgID("m3")}, 9, 0, ""},
		{"last msg id wrong", "exp.a", []jetstream.PublishOpt{jetstream.WithExpectLastMsgID("m2")}, 0, 10070, "wrong last msg ID: m3"},
		{"all at once", "exp.a", []jetstream.PublishOpt{
			jetstream.WithExpectStream("EXP"), jetstream.WithExpectLastSequence(9),
			jetstream.WithExpectLastSequencePerSubject(9), jetstream.WithExpectLastMsgID("m3"),
		}, 10, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, err := js.Publish(ctx, tt.subject, []byte(tt.name), tt.opts...)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("err = %v; want seq %d", err, tt.wantSeq)
				}
				if ack.Sequence != tt.wantSeq {
					t.Fatalf("seq = %d; want %d", ack.Sequence, tt.wantSeq)
				}
				return
			}
			wantAPIErr(t, "Publish", err, tt.wantCode)
			if !strings.Contains(err.Error(), tt.wantDesc) {
				t.Fatalf("err = %v; want description %q", err, tt.wantDesc)
			}
		})
	}
	// Refused publishes stored nothing.
	wantState(t, s, stateSummary{Msgs: 10, FirstSeq: 1, LastSeq: 10, NumSubjects: 5})
}

func TestJSStreamMsgTTL(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "TTL", Subjects: []string{"ttl.>"}, AllowMsgTTL: true})
	mustPublish(t, js, "ttl.keep", "stays", 1)
	start := time.Now() // no later than the TTL message's timestamp
	mustPublish(t, js, "ttl.short", "goes", 2, jetstream.WithMsgTTL(time.Second))
	mustPublish(t, js, "ttl.long", "stays too", 3, jetstream.WithMsgTTL(time.Hour))
	if _, err := s.GetMsg(ctx, 2); err != nil && time.Since(start) < time.Second {
		t.Fatalf("message with a 1s TTL gone at once: %v", err)
	}
	waitUntil(t, func() error {
		if _, err := s.GetMsg(ctx, 2); !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("seq 2 after %v: err = %v", time.Since(start), err)
		}
		return nil
	})
	if el := time.Since(start); el < time.Second {
		t.Fatalf("message with a 1s TTL removed after %v", el)
	}
	wantState(t, s, stateSummary{Msgs: 2, FirstSeq: 1, LastSeq: 3, NumSubjects: 2, NumDeleted: 1})

	// Invalid TTLs are refused.
	for _, ttl := range []string{"abc", "10ms", "-1s"} {
		_, err := js.PublishMsg(ctx, natsMsg("ttl.x", "x", "Nats-TTL", ttl))
		wantAPIErr(t, "Nats-TTL "+ttl, err, 10165)
	}

	// Without allow_msg_ttl a TTL is refused, and nothing is stored.
	n := mustCreate(t, js, jetstream.StreamConfig{Name: "NOTTL", Subjects: []string{"nottl"}})
	_, err := js.Publish(ctx, "nottl", []byte("x"), jetstream.WithMsgTTL(time.Second))
	wantAPIErr(t, "TTL on a stream without allow_msg_ttl", err, 10166)
	wantState(t, n, stateSummary{})
	// TTLs can be turned on, not off.
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "NOTTL", Subjects: []string{"nottl"}, AllowMsgTTL: true}); err != nil {
		t.Fatalf("enable TTLs: %v", err)
	}
	mustPublish(t, js, "nottl", "x", 1, jetstream.WithMsgTTL(time.Second))
	_, err = js.UpdateStream(ctx, jetstream.StreamConfig{Name: "NOTTL", Subjects: []string{"nottl"}})
	wantAPIErr(t, "disable TTLs", err, 10052)
}
