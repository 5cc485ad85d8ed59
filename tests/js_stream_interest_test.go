package tests

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Interest retention: a message stays while a consumer whose filter
// matches it has not acked it, and goes once every such consumer has.
//
// Tests that a message is still there use an ordering the server keeps:
// removals a consumer's acks ask for are queued before the acks are
// confirmed, and handled in order. So once a later removal is seen, every
// earlier ack has had its effect, and what it left must still be there.

// createInterest creates an interest stream.
func createInterest(t testing.TB, js jetstream.JetStream, name string, subjects ...string) jetstream.Stream {
	t.Helper()
	return mustCreate(t, js, jetstream.StreamConfig{Name: name, Subjects: subjects, Retention: jetstream.InterestPolicy})
}

// fetchMsgs fetches exactly n messages, unacked, in the order delivered.
func fetchMsgs(t testing.TB, c jetstream.Consumer, n int) []jetstream.Msg {
	t.Helper()
	var out []jetstream.Msg
	deadline := time.Now().Add(testTimeout)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fetched %d of %d messages", len(out), n)
		}
		b, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			out = append(out, m)
		}
	}
	return out
}

// payloads returns the messages' data.
func payloads(msgs []jetstream.Msg) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Data()))
	}
	return out
}

// ackSync acks each message and waits for the server's confirmation.
func ackSync(t testing.TB, msgs ...jetstream.Msg) {
	t.Helper()
	for _, m := range msgs {
		if err := m.DoubleAck(jsCtx(t)); err != nil {
			t.Fatalf("ack %s: %v", m.Data(), err)
		}
	}
}

// fetchAck fetches exactly the payloads want, acking each with a
// confirmation.
func fetchAck(t testing.TB, c jetstream.Consumer, want ...string) {
	t.Helper()
	msgs := fetchMsgs(t, c, len(want))
	if got := payloads(msgs); !equalList(got, want) {
		t.Fatalf("fetched %v; want %v", got, want)
	}
	ackSync(t, msgs...)
}

// fetchAckAnyOrder is fetchAck for redeliveries, whose order is not
// promised.
func fetchAckAnyOrder(t testing.TB, c jetstream.Consumer, want ...string) {
	t.Helper()
	msgs := fetchMsgs(t, c, len(want))
	got := payloads(msgs)
	slices.Sort(got)
	if !equalList(got, want) {
		t.Fatalf("fetched %v; want %v", got, want)
	}
	ackSync(t, msgs...)
}

// consumerSummary is the part of a consumer's info the tests compare.
type consumerSummary struct {
	NumPending     uint64
	NumAckPending  int
	AckFloorStream uint64
	Delivered      uint64 // last delivered stream sequence
}

// waitConsumer polls the consumer's info until it reads want.
func waitConsumer(t testing.TB, c infoer, want consumerSummary) {
	t.Helper()
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		got := consumerSummary{ci.NumPending, ci.NumAckPending, ci.AckFloor.Stream, ci.Delivered.Stream}
		if got != want {
			return fmt.Errorf("consumer %s = %+v; want %+v", ci.Name, got, want)
		}
		return nil
	})
}

func explicit(name string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy}
}

// TestJSInterestTwoConsumers: a message goes once both consumers acked it,
// not before.
func TestJSInterestTwoConsumers(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	if got := mustInfo(t, s).Config.Retention; got != jetstream.InterestPolicy {
		t.Fatalf("retention = %v; want interest", got)
	}
	a := mustConsumer(t, s, explicit("a"))
	b := mustConsumer(t, s, explicit("b"))
	jsPublishN(t, js, "int.x", "m", 3)
	wantState(t, s, stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 3, NumSubjects: 1})

	fetchAck(t, a, "m-1", "m-2", "m-3")
	waitConsumer(t, a, consumerSummary{NumPending: 0, NumAckPending: 0, AckFloorStream: 3, Delivered: 3})
	waitConsumer(t, b, consumerSummary{NumPending: 3, NumAckPending: 0, AckFloorStream: 0, Delivered: 0})

	bm := fetchMsgs(t, b, 3)
	if got := payloads(bm); !equalList(got, seqs("m", 1, 3)) {
		t.Fatalf("b fetched %v", got)
	}
	ackSync(t, bm[0])
	// m-1 went on b's ack; a's acks of m-2 and m-3 removed nothing.
	waitState(t, s, stateSummary{Msgs: 2, FirstSeq: 2, LastSeq: 3, NumSubjects: 1})
	waitConsumer(t, b, consumerSummary{NumPending: 0, NumAckPending: 2, AckFloorStream: 1, Delivered: 3})

	ackSync(t, bm[1:]...)
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 4, LastSeq: 3})
	waitConsumer(t, b, consumerSummary{NumPending: 0, NumAckPending: 0, AckFloorStream: 3, Delivered: 3})
	if info := mustInfo(t, s); info.State.Bytes != 0 || info.State.Consumers != 2 {
		t.Fatalf("empty stream: bytes %d, consumers %d", info.State.Bytes, info.State.Consumers)
	}

	// New messages are held again by both.
	mustPublish(t, js, "int.y", "m-4", 4)
	wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 4, LastSeq: 4, NumSubjects: 1})
	waitConsumer(t, a, consumerSummary{NumPending: 1, NumAckPending: 0, AckFloorStream: 3, Delivered: 3})
}

// TestJSInterestAckNone: delivery to an ack-none consumer is its ack.
func TestJSInterestAckNone(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	a := mustConsumer(t, s, explicit("a"))
	n := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "n", AckPolicy: jetstream.AckNonePolicy})
	jsPublishN(t, js, "int.x", "m", 4)

	fetchAck(t, a, "m-1", "m-2", "m-3", "m-4")
	if got := payloads(fetchMsgs(t, n, 2)); !equalList(got, seqs("m", 1, 2)) {
		t.Fatalf("n fetched %v", got)
	}
	waitState(t, s, stateSummary{Msgs: 2, FirstSeq: 3, LastSeq: 4, NumSubjects: 1})
	waitConsumer(t, n, consumerSummary{NumPending: 2, NumAckPending: 0, AckFloorStream: 2, Delivered: 2})

	// The other order: delivered to n first, acked by a last.
	if got := payloads(fetchMsgs(t, n, 2)); !equalList(got, seqs("m", 3, 4)) {
		t.Fatalf("n fetched %v", got)
	}
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 5, LastSeq: 4})
	jsPublishN(t, js, "int.x", "k", 1)
	if got := payloads(fetchMsgs(t, n, 1)); !equalList(got, []string{"k-1"}) {
		t.Fatalf("n fetched %v", got)
	}
	mustPublish(t, js, "int.x", "k-2", 6)
	fetchAck(t, a, "k-1")
	waitState(t, s, stateSummary{Msgs: 1, FirstSeq: 6, LastSeq: 6, NumSubjects: 1})
}

// TestJSInterestAckAll: an ack covers the consumer's earlier messages.
func TestJSInterestAckAll(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "all", AckPolicy: jetstream.AckAllPolicy})
	jsPublishN(t, js, "int.x", "m", 5)
	msgs := fetchMsgs(t, c, 5)
	ackSync(t, msgs[2])
	waitState(t, s, stateSummary{Msgs: 2, FirstSeq: 4, LastSeq: 5, NumSubjects: 1})
	waitConsumer(t, c, consumerSummary{NumPending: 0, NumAckPending: 2, AckFloorStream: 3, Delivered: 5})
	ackSync(t, msgs[4])
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 6, LastSeq: 5})
	waitConsumer(t, c, consumerSummary{NumPending: 0, NumAckPending: 0, AckFloorStream: 5, Delivered: 5})
}

// TestJSInterestFilters: only consumers whose filter matches a message
// hold it, and filters may overlap (unlike on a work-queue stream).
func TestJSInterestFilters(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	fa := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "fa", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "int.a"})
	fb := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "fb", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "int.b"})
	wide := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "wide", AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{"int.a", "int.c"}})
	mustPublish(t, js, "int.a", "a-1", 1)
	mustPublish(t, js, "int.b", "b-1", 2)
	mustPublish(t, js, "int.a", "a-2", 3)
	mustPublish(t, js, "int.c", "c-1", 4)
	wantState(t, s, stateSummary{Msgs: 4, FirstSeq: 1, LastSeq: 4, NumSubjects: 3})

	fetchAck(t, fb, "b-1") // only fb held it
	waitState(t, s, stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 4, NumSubjects: 2, NumDeleted: 1})
	fetchAck(t, fa, "a-1", "a-2") // wide still holds them
	waitConsumer(t, fa, consumerSummary{NumPending: 0, NumAckPending: 0, AckFloorStream: 3, Delivered: 3})

	wm := fetchMsgs(t, wide, 3)
	if got := payloads(wm); !equalList(got, []string{"a-1", "a-2", "c-1"}) {
		t.Fatalf("wide fetched %v", got)
	}
	ackSync(t, wm[2])
	waitState(t, s, stateSummary{Msgs: 2, FirstSeq: 1, LastSeq: 4, NumSubjects: 1, NumDeleted: 2})
	ackSync(t, wm[:2]...)
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 5, LastSeq: 4})
	for _, c := range []jetstream.Consumer{fa, fb, wide} {
		ci, err := c.Info(jsCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if ci.NumPending != 0 || ci.NumAckPending != 0 {
			t.Fatalf("consumer %s: num_pending %d, num_ack_pending %d", ci.Name, ci.NumPending, ci.NumAckPending)
		}
	}
}

// TestJSInterestNoConsumers: a message no consumer's filter matches is
// removed as it is stored; its publisher still gets its sequence.
func TestJSInterestNoConsumers(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	mustPublish(t, js, "int.a", "x", 1)
	mustPublish(t, js, "int.a", "y", 2)
	wantState(t, s, stateSummary{Msgs: 0, FirstSeq: 3, LastSeq: 2})

	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "fa", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "int.a"})
	mustPublish(t, js, "int.b", "nobody", 3)
	wantState(t, s, stateSummary{Msgs: 0, FirstSeq: 4, LastSeq: 3})
	mustPublish(t, js, "int.a", "kept", 4)
	mustPublish(t, js, "int.b", "nobody", 5)
	wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 4, LastSeq: 5, NumSubjects: 1, NumDeleted: 1})
	waitConsumer(t, c, consumerSummary{NumPending: 1, NumAckPending: 0, AckFloorStream: 2, Delivered: 2})
	fetchAck(t, c, "kept")
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 6, LastSeq: 5})

	// A duplicate is answered with the original sequence and stores
	// nothing.
	ack, err := js.Publish(jsCtx(t), "int.b", []byte("d"), jetstream.WithMsgID("dup"))
	if err != nil || ack.Sequence != 6 {
		t.Fatalf("publish: %+v, %v", ack, err)
	}
	ack, err = js.Publish(jsCtx(t), "int.b", []byte("d"), jetstream.WithMsgID("dup"))
	if err != nil || ack.Sequence != 6 || !ack.Duplicate {
		t.Fatalf("duplicate publish: %+v, %v", ack, err)
	}
	wantState(t, s, stateSummary{Msgs: 0, FirstSeq: 7, LastSeq: 6})
}

// TestJSInterestConsumerDelete: deleting a consumer, or an ephemeral one
// going inactive, gives up its interest.
func TestJSInterestConsumerDelete(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	a := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "a", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	mustConsumer(t, s, explicit("b"))
	jsPublishN(t, js, "int.x", "m", 3)
	am := fetchMsgs(t, a, 3)
	ackSync(t, am[:2]...)
	wantState(t, s, stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 3, NumSubjects: 1})

	if err := s.DeleteConsumer(jsCtx(t), "b"); err != nil {
		t.Fatal(err)
	}
	// m-3 stays: a has it pending.
	waitState(t, s, stateSummary{Msgs: 1, FirstSeq: 3, LastSeq: 3, NumSubjects: 1})
	ackSync(t, am[2])
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 4, LastSeq: 3})

	// Deleting the last consumer releases everything it held.
	jsPublishN(t, js, "int.x", "n", 2)
	wantState(t, s, stateSummary{Msgs: 2, FirstSeq: 4, LastSeq: 5, NumSubjects: 1})
	if err := s.DeleteConsumer(jsCtx(t), "a"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 6, LastSeq: 5})

	// An ephemeral consumer holds messages while it exists; it goes
	// once unused for its inactive threshold, which must not run out
	// between its fetch below and the stream info after it.
	e, err := s.CreateConsumer(jsCtx(t), jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, InactiveThreshold: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	name := e.CachedInfo().Name
	jsPublishN(t, js, "int.x", "e", 2)
	if got := payloads(fetchMsgs(t, e, 2)); !equalList(got, seqs("e", 1, 2)) {
		t.Fatalf("ephemeral fetched %v", got)
	}
	wantState(t, s, stateSummary{Msgs: 2, FirstSeq: 6, LastSeq: 7, NumSubjects: 1})
	waitUntil(t, func() error {
		if _, err := s.Consumer(jsCtx(t), name); err == nil {
			return fmt.Errorf("ephemeral consumer %s still there", name)
		}
		return nil
	})
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 8, LastSeq: 7})
}

// TestJSInterestTermAndMaxDeliver: a terminated message is done for its
// consumer; one that ran out of deliveries is kept for inspection unless
// it was copied to the stream's dead-letter stream.
func TestJSInterestTermAndMaxDeliver(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	w := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 2, AckWait: time.Minute})
	o := mustConsumer(t, s, explicit("o"))
	jsPublishN(t, js, "int.x", "m", 3)
	fetchAck(t, o, "m-1", "m-2", "m-3")

	m := fetchMsgs(t, w, 1)[0]
	if err := m.TermWithReason("bad"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, stateSummary{Msgs: 2, FirstSeq: 2, LastSeq: 3, NumSubjects: 1})

	for i := range 2 {
		m := fetchMsgs(t, w, 1)[0]
		if string(m.Data()) != "m-2" {
			t.Fatalf("delivery %d: %s; want m-2", i+1, m.Data())
		}
		if err := m.Nak(); err != nil {
			t.Fatal(err)
		}
	}
	fetchAck(t, w, "m-3")
	// m-3 went; m-2, out of deliveries, stays.
	waitState(t, s, stateSummary{Msgs: 1, FirstSeq: 2, LastSeq: 3, NumSubjects: 1, NumDeleted: 1})
	waitConsumer(t, w, consumerSummary{NumPending: 0, NumAckPending: 0, AckFloorStream: 3, Delivered: 3})
	if got, err := s.GetMsg(jsCtx(t), 2); err != nil || string(got.Data) != "m-2" {
		t.Fatalf("GetMsg(2) = %v, %v", got, err)
	}

	// With a dead-letter stream, the stored copy is what the consumer
	// gave up on; the original goes.
	dlq := mustCreate(t, js, jetstream.StreamConfig{Name: "INTD_DLQ", Subjects: []string{"dlq.intd"}})
	mustCreateRaw(t, nc, `{"name":"INTD","subjects":["intd.>"],"retention":"interest","dead_letter_stream":"INTD_DLQ"}`)
	sd, err := js.Stream(jsCtx(t), "INTD")
	if err != nil {
		t.Fatal(err)
	}
	dw := mustConsumer(t, sd, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 1, AckWait: time.Minute})
	mustPublish(t, js, "intd.x", "order", 1)
	if err := fetchMsgs(t, dw, 1)[0].Nak(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sd, stateSummary{Msgs: 0, FirstSeq: 2, LastSeq: 1})
	dl, err := dlq.GetMsg(jsCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(dl.Data) != "order" || dl.Header.Get("Wren-DLQ-Reason") != "max_deliveries" {
		t.Fatalf("dead letter %q, reason %q", dl.Data, dl.Header.Get("Wren-DLQ-Reason"))
	}
}

// TestJSInterestPushWithoutSubscriber: a durable push consumer holds
// messages while nobody subscribes to its deliver subject.
func TestJSInterestPushWithoutSubscriber(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	deliver := nc.NewInbox()
	p, err := s.CreateOrUpdatePushConsumer(jsCtx(t), jetstream.ConsumerConfig{
		Durable: "push", DeliverSubject: deliver, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	q := mustConsumer(t, s, explicit("q"))
	jsPublishN(t, js, "int.x", "m", 3)
	fetchAck(t, q, "m-1", "m-2", "m-3")
	wantState(t, s, stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 3, NumSubjects: 1})
	wantInfo(t, p, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumPending != 3 || ci.PushBound {
			return fmt.Errorf("push consumer: num_pending %d, push_bound %v", ci.NumPending, ci.PushBound)
		}
		return nil
	})

	// A subscriber arrives and acks the first message only.
	sub, err := nc.SubscribeSync(deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var got []*nats.Msg
	for len(got) < 3 {
		m, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("push delivery: %v", err)
		}
		if len(m.Data) == 0 && m.Header.Get("Status") != "" {
			continue // a status message
		}
		got = append(got, m)
	}
	if _, err := nc.Request(got[0].Reply, []byte("+ACK"), testTimeout); err != nil {
		t.Fatal(err)
	}
	// q's acks of m-2 and m-3 came first and left them to the push consumer.
	waitState(t, s, stateSummary{Msgs: 2, FirstSeq: 2, LastSeq: 3, NumSubjects: 1})
	for _, m := range got[1:] {
		if _, err := nc.Request(m.Reply, []byte("+ACK"), testTimeout); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 4, LastSeq: 3})
}

// TestJSInterestRestart: what the consumers acked before a restart stays
// gone after it, what one of them has not acked stays, and consumers that
// did not survive the restart (ephemeral) hold nothing afterwards.
func TestJSInterestRestart(t *testing.T) {
	dir := t.TempDir()
	j := startJS(t, dir)
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "R", "r.>")
	a := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "a", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second})
	b := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "b", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 1, AckWait: time.Minute})
	if _, err := s.CreateConsumer(jsCtx(t), jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, InactiveThreshold: time.Hour}); err != nil {
		t.Fatal(err)
	}
	jsPublishN(t, js, "r.x", "m", 6)

	am := fetchMsgs(t, a, 6)
	ackSync(t, am[:4]...)
	bm := fetchMsgs(t, b, 3)
	ackSync(t, bm[:2]...)
	if err := bm[2].Nak(); err != nil { // its only delivery: given up, kept
		t.Fatal(err)
	}
	waitConsumer(t, b, consumerSummary{NumPending: 3, NumAckPending: 0, AckFloorStream: 3, Delivered: 3})
	// The ephemeral consumer holds all six.
	wantState(t, s, stateSummary{Msgs: 6, FirstSeq: 1, LastSeq: 6, NumSubjects: 1})
	j.stop()

	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	s, err := js.Stream(jsCtx(t), "R")
	if err != nil {
		t.Fatal(err)
	}
	// m-1 and m-2 were acked by both durable consumers; m-3 is b's given
	// up message; a has m-5 and m-6 pending, b has not seen m-4..m-6.
	wantState(t, s, stateSummary{Msgs: 4, FirstSeq: 3, LastSeq: 6, NumSubjects: 1})
	if n := mustInfo(t, s).State.Consumers; n != 2 {
		t.Fatalf("%d consumers after the restart; want 2", n)
	}
	a = consumerOfStream(t, js, "R", "a")
	b = consumerOfStream(t, js, "R", "b")
	waitConsumer(t, a, consumerSummary{NumPending: 0, NumAckPending: 2, AckFloorStream: 4, Delivered: 6})
	waitConsumer(t, b, consumerSummary{NumPending: 3, NumAckPending: 0, AckFloorStream: 3, Delivered: 3})

	fetchAckAnyOrder(t, a, "m-5", "m-6") // redelivered after the restart
	fetchAck(t, b, "m-4", "m-5", "m-6")
	waitState(t, s, stateSummary{Msgs: 1, FirstSeq: 3, LastSeq: 6, NumSubjects: 1, NumDeleted: 3})
	j.stop()

	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	s, err = js.Stream(jsCtx(t), "R")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 3, LastSeq: 6, NumSubjects: 1, NumDeleted: 3})
	waitConsumer(t, consumerOfStream(t, js, "R", "a"), consumerSummary{NumPending: 0, NumAckPending: 0, AckFloorStream: 6, Delivered: 6})
	if err := s.DeleteConsumer(jsCtx(t), "b"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 7, LastSeq: 6})
}

// TestJSInterestLimits: the stream's limits apply whatever the consumers
// hold.
func TestJSInterestLimits(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "OLD", Subjects: []string{"old.>"}, Retention: jetstream.InterestPolicy, MaxMsgs: 3})
	c := mustConsumer(t, s, explicit("c"))
	jsPublishN(t, js, "old.x", "m", 5)
	wantState(t, s, stateSummary{Msgs: 3, FirstSeq: 3, LastSeq: 5, NumSubjects: 1})
	waitConsumer(t, c, consumerSummary{NumPending: 3})
	fetchAck(t, c, "m-3", "m-4", "m-5")
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 6, LastSeq: 5})

	ns := mustCreate(t, js, jetstream.StreamConfig{Name: "NEW", Subjects: []string{"new.>"}, Retention: jetstream.InterestPolicy, MaxMsgs: 2, Discard: jetstream.DiscardNew})
	nc := mustConsumer(t, ns, explicit("c"))
	jsPublishN(t, js, "new.x", "m", 2)
	_, err := js.Publish(jsCtx(t), "new.x", []byte("m-3"))
	wantAPIErr(t, "publish over max_msgs", err, 10077)
	fetchAck(t, nc, "m-1")
	waitState(t, ns, stateSummary{Msgs: 1, FirstSeq: 2, LastSeq: 2, NumSubjects: 1})
	mustPublish(t, js, "new.x", "m-3", 3)

	ps := mustCreate(t, js, jetstream.StreamConfig{Name: "PER", Subjects: []string{"per.>"}, Retention: jetstream.InterestPolicy, MaxMsgsPerSubject: 1})
	pc := mustConsumer(t, ps, explicit("c"))
	mustPublish(t, js, "per.a", "a-1", 1)
	mustPublish(t, js, "per.a", "a-2", 2)
	mustPublish(t, js, "per.b", "b-1", 3)
	wantState(t, ps, stateSummary{Msgs: 2, FirstSeq: 2, LastSeq: 3, NumSubjects: 2})
	fetchAck(t, pc, "a-2", "b-1")
	waitState(t, ps, stateSummary{Msgs: 0, FirstSeq: 4, LastSeq: 3})

	as := mustCreate(t, js, jetstream.StreamConfig{Name: "AGE", Subjects: []string{"age.>"}, Retention: jetstream.InterestPolicy, MaxAge: 300 * time.Millisecond})
	mustConsumer(t, as, explicit("c"))
	jsPublishN(t, js, "age.x", "m", 2)
	waitState(t, as, stateSummary{Msgs: 0, FirstSeq: 3, LastSeq: 2})
}

// TestJSInterestNewConsumers: a consumer created on held messages delivers
// them with deliver policy all; one that starts later holds nothing
// before its start.
func TestJSInterestNewConsumers(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	a := mustConsumer(t, s, explicit("a"))
	jsPublishN(t, js, "int.x", "m", 3)
	fetchAck(t, a, "m-1")
	waitState(t, s, stateSummary{Msgs: 2, FirstSeq: 2, LastSeq: 3, NumSubjects: 1})

	b := mustConsumer(t, s, explicit("b"))
	waitConsumer(t, b, consumerSummary{NumPending: 2, AckFloorStream: 1, Delivered: 1})
	n := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "n", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy})
	waitConsumer(t, n, consumerSummary{NumPending: 0, AckFloorStream: 3, Delivered: 3})
	l := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "l", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverLastPolicy})

	fetchAck(t, a, "m-2", "m-3")
	fetchAck(t, b, "m-2")
	// l starts at m-3: m-2 is no interest of it.
	waitState(t, s, stateSummary{Msgs: 1, FirstSeq: 3, LastSeq: 3, NumSubjects: 1})
	fetchAck(t, b, "m-3")
	fetchAck(t, l, "m-3")
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 4, LastSeq: 3})

	mustPublish(t, js, "int.x", "m-4", 4)
	fetchAck(t, a, "m-4")
	fetchAck(t, b, "m-4")
	fetchAck(t, l, "m-4")
	waitConsumer(t, l, consumerSummary{AckFloorStream: 4, Delivered: 4})
	wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 4, LastSeq: 4, NumSubjects: 1})
	fetchAck(t, n, "m-4")
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 5, LastSeq: 4})
}

// TestJSInterestUpdate: retention cannot change by an update; other
// changes keep it.
func TestJSInterestUpdate(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	cfg := jetstream.StreamConfig{Name: "INT", Subjects: []string{"int.>"}, Retention: jetstream.InterestPolicy}
	s := mustCreate(t, js, cfg)
	for _, r := range []jetstream.RetentionPolicy{jetstream.LimitsPolicy, jetstream.WorkQueuePolicy} {
		c := cfg
		c.Retention = r
		_, err := js.UpdateStream(jsCtx(t), c)
		wantAPIErr(t, "UpdateStream interest to "+r.String(), err, 10052)
		if !strings.Contains(err.Error(), "retention") {
			t.Fatalf("error %q does not mention retention", err)
		}
	}
	c := cfg
	c.MaxMsgs = 10
	if _, err := js.UpdateStream(jsCtx(t), c); err != nil {
		t.Fatal(err)
	}
	if got := mustInfo(t, s).Config; got.Retention != jetstream.InterestPolicy || got.MaxMsgs != 10 {
		t.Fatalf("after update: retention %v, max_msgs %d", got.Retention, got.MaxMsgs)
	}

	mustCreate(t, js, jetstream.StreamConfig{Name: "LIM", Subjects: []string{"lim.>"}})
	_, err := js.UpdateStream(jsCtx(t), jetstream.StreamConfig{Name: "LIM", Subjects: []string{"lim.>"}, Retention: jetstream.InterestPolicy})
	wantAPIErr(t, "UpdateStream limits to interest", err, 10052)
}

// TestJSInterestFilterUpdate: narrowing a consumer's filter gives up what
// only the old filter held.
func TestJSInterestFilterUpdate(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := createInterest(t, js, "INT", "int.>")
	a := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "a", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "int.a"})
	w := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "int.>"})
	mustPublish(t, js, "int.a", "a-1", 1)
	mustPublish(t, js, "int.b", "b-1", 2)
	fetchAck(t, a, "a-1")
	wantState(t, s, stateSummary{Msgs: 2, FirstSeq: 1, LastSeq: 2, NumSubjects: 2})

	w = mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "int.a"})
	waitState(t, s, stateSummary{Msgs: 1, FirstSeq: 1, LastSeq: 2, NumSubjects: 1, NumDeleted: 1})
	waitConsumer(t, w, consumerSummary{NumPending: 1})
	fetchAck(t, w, "a-1")
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: 3, LastSeq: 2})
}

// TestJSInterestCrash acks with two consumers, kills the daemon with
// SIGKILL as soon as the last acks are confirmed (whether the stream had
// removed those messages yet or not), and checks after a restart that
// exactly the messages a consumer has not acked are there.
func TestJSInterestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the daemon")
	}
	dir := filepath.Join(t.TempDir(), "store")
	d := startDaemon(t, dir)
	nc, err := nats.Connect(d.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s := createInterest(t, js, "IC", "ic.>")
	const n, unacked = 300, 10
	cs := []jetstream.Consumer{
		mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "a", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute}),
		mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "b", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute}),
	}
	jsPublishN(t, js, "ic.x", "m", n)
	// a acks everything, b all but the last few, both at once; each
	// confirms its last ack, which comes after (and so covers) the ones
	// before it.
	var fetched [][]jetstream.Msg
	for _, c := range cs {
		fetched = append(fetched, fetchMsgs(t, c, n))
	}
	ctx := jsCtx(t)
	errs := make(chan error, len(cs))
	for i, msgs := range fetched {
		acks := msgs[:n-i*unacked]
		go func() {
			for _, m := range acks[:len(acks)-1] {
				if err := m.Ack(); err != nil {
					errs <- err
					return
				}
			}
			errs <- acks[len(acks)-1].DoubleAck(ctx)
		}()
	}
	for range cs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	d.kill()
	nc.Close()

	d = startDaemon(t, dir)
	nc, err = nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	if s, err = js.Stream(jsCtx(t), "IC"); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, stateSummary{Msgs: unacked, FirstSeq: n - unacked + 1, LastSeq: n, NumSubjects: 1})
	waitConsumer(t, consumerOfStream(t, js, "IC", "a"), consumerSummary{AckFloorStream: n, Delivered: n})
	waitConsumer(t, consumerOfStream(t, js, "IC", "b"), consumerSummary{NumAckPending: unacked, AckFloorStream: n - unacked, Delivered: n})
	if err := s.DeleteConsumer(jsCtx(t), "b"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, stateSummary{Msgs: 0, FirstSeq: n + 1, LastSeq: n})
}
