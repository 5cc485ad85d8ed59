package tests

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// replayDLQ asks the daemon to re-drive dead letters.
func replayDLQ(t testing.TB, nc *nats.Conn, stream string, body string) map[string]any {
	t.Helper()
	m, err := nc.Request("$WREN.API.DLQ.REPLAY."+stream, []byte(body), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatalf("replay reply %q: %v", m.Data, err)
	}
	return r
}

// A consumer that always naks: after max deliver the message lands in the
// dead-letter stream with headers saying why; a replay re-drives it and a
// fixed consumer acks it.
func TestJSConsumerDeadLetter(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	dlq := mustCreate(t, js, jetstream.StreamConfig{Name: "ORDERS_DLQ", Subjects: []string{"dlq.orders"}})
	orders := mustCreateRaw(t, nc, `{"name":"ORDERS","subjects":["orders.>"],"retention":"workqueue","dead_letter_stream":"ORDERS_DLQ"}`)
	_ = orders
	s, err := js.Stream(jsCtx(t), "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	adv := advisories(t, nc, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ORDERS.proc")
	if _, err := js.Publish(jsCtx(t), "orders.new", []byte("order-1"), jetstream.WithMsgID("id-1")); err != nil {
		t.Fatal(err)
	}
	jsPublishN(t, js, "orders.new", "ok", 2)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{
		Durable: "proc", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 3, AckWait: time.Minute,
	})
	// The buggy consumer naks order-1 every time and acks the rest.
	naks := 0
	for naks < 3 {
		m := fetchOne(t, c, testTimeout)
		if string(m.Data()) == "order-1" {
			m.Nak()
			naks++
			continue
		}
		m.DoubleAck(jsCtx(t))
	}
	adv(1)
	if got := drainConsumer(t, c, 300*time.Millisecond); len(got) != 2 || got["ok-1"] != 1 || got["ok-2"] != 1 {
		t.Fatalf("after the dead letter: %v; want ok-1 and ok-2 once", got)
	}

	// The dead letter, with its headers.
	var dl *jetstream.RawStreamMsg
	waitUntil(t, func() error {
		var err error
		dl, err = dlq.GetMsg(jsCtx(t), 1)
		return err
	})
	if string(dl.Data) != "order-1" || dl.Subject != "orders.new" {
		t.Fatalf("dead letter %q on %q", dl.Data, dl.Subject)
	}
	for k, want := range map[string]string{
		"Wren-DLQ-Stream": "ORDERS", "Wren-DLQ-Sequence": "1", "Wren-DLQ-Subject": "orders.new",
		"Wren-DLQ-Consumer": "proc", "Wren-DLQ-Deliveries": "3", "Wren-DLQ-Reason": "max_deliveries",
		"Wren-DLQ-Msg-Id": "id-1",
	} {
		if got := dl.Header.Get(k); got != want {
			t.Errorf("header %s = %q; want %q", k, got, want)
		}
	}
	// The original id moved to Wren-DLQ-Msg-Id; the copy has its own, one
	// per stream message and consumer, so a crash that dead-letters it
	// again cannot store it twice.
	if got, want := dl.Header.Get("Nats-Msg-Id"), "wren-dlq.ORDERS.proc.1"; got != want {
		t.Errorf("dead letter Nats-Msg-Id = %q; want %q", got, want)
	}
	// The work queue gave it up: nothing left in ORDERS.
	waitMsgs(t, s, 0, 4, 3)

	// Replay re-drives it onto orders.new; a fixed consumer acks it.
	r := replayDLQ(t, nc, "ORDERS_DLQ", `{"seq":1}`)
	if r["replayed"] != 1.0 || r["error"] != nil || r["failed"] != nil {
		t.Fatalf("replay = %v", r)
	}
	m := fetchOne(t, c, testTimeout)
	if string(m.Data()) != "order-1" || m.Subject() != "orders.new" {
		t.Fatalf("replayed %q on %q", m.Data(), m.Subject())
	}
	if got := m.Headers().Get("Wren-DLQ-Replayed-From"); got != "ORDERS_DLQ:1" {
		t.Errorf("Wren-DLQ-Replayed-From = %q", got)
	}
	if got := m.Headers().Get("Nats-Msg-Id"); got != "" {
		t.Errorf("replayed message carries Nats-Msg-Id %q; a second replay would be dropped as a duplicate", got)
	}
	if err := m.DoubleAck(jsCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, s, 0, 5, 4)
	waitMsgs(t, dlq, 0, 2, 1)
}

func TestJSConsumerDeadLetterTerm(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	dlq := mustCreate(t, js, jetstream.StreamConfig{Name: "DLQ", Subjects: []string{"dlq"}})
	mustCreateRaw(t, nc, `{"name":"JOBS","subjects":["jobs"],"dead_letter_stream":"DLQ"}`)
	s, _ := js.Stream(jsCtx(t), "JOBS")
	jsPublishN(t, js, "jobs", "j", 3)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy})
	for i := 0; i < 3; i++ {
		m := fetchOne(t, c, testTimeout)
		if err := m.TermWithReason(fmt.Sprintf("broken %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	waitMsgs(t, dlq, 3, 1, 3)
	dl, err := dlq.GetMsg(jsCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := dl.Header.Get("Wren-DLQ-Reason"); got != "terminated: broken 2" {
		t.Fatalf("reason %q", got)
	}
	// A limits stream keeps its messages; replay all with keep.
	r := replayDLQ(t, nc, "DLQ", `{"all":true,"keep":true}`)
	if r["replayed"] != 3.0 {
		t.Fatalf("replay = %v", r)
	}
	waitMsgs(t, s, 6, 1, 6)
	waitMsgs(t, dlq, 3, 1, 3)
	// Replay of a missing sequence fails for it alone.
	r = replayDLQ(t, nc, "DLQ", `{"seqs":[3,99]}`)
	if r["replayed"] != 1.0 || len(r["failed"].([]any)) != 1 {
		t.Fatalf("replay = %v", r)
	}
	if r := replayDLQ(t, nc, "NOPE", `{"all":true}`); r["error"] == nil {
		t.Fatalf("replay of a missing stream = %v", r)
	}
}

// mustCreateRaw creates a stream from a JSON config (for fields nats.go
// does not know, like dead_letter_stream).
func mustCreateRaw(t testing.TB, nc *nats.Conn, cfg string) apiResult {
	t.Helper()
	var v struct {
		Name string `json:"name"`
	}
	json.Unmarshal([]byte(cfg), &v)
	r := rawAPI(t, nc, "STREAM.CREATE."+v.Name, cfg)
	if r.Error != nil {
		t.Fatalf("create %s: %v", v.Name, r.Error)
	}
	return r
}

// waitMsgs polls the stream until it holds msgs messages in [first, last].
func waitMsgs(t testing.TB, s jetstream.Stream, msgs, first, last uint64) {
	t.Helper()
	waitUntil(t, func() error {
		si, err := s.Info(jsCtx(t))
		if err != nil {
			return err
		}
		st := si.State
		if st.Msgs != msgs || st.FirstSeq != first || st.LastSeq != last {
			return fmt.Errorf("%s: %d msgs in [%d, %d]; want %d in [%d, %d]", si.Config.Name, st.Msgs, st.FirstSeq, st.LastSeq, msgs, first, last)
		}
		return nil
	})
}
