package tests

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fetchOne fetches one message within wait, failing when none comes.
func fetchOne(t testing.TB, c jetstream.Consumer, wait time.Duration) jetstream.Msg {
	t.Helper()
	b, err := c.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatal(err)
	}
	for m := range b.Messages() {
		for range b.Messages() {
		}
		return m
	}
	t.Fatalf("no message within %v (%v)", wait, b.Error())
	return nil
}

// fetchNone checks that no message comes within wait.
func fetchNone(t testing.TB, c jetstream.Consumer, wait time.Duration) {
	t.Helper()
	b, err := c.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatal(err)
	}
	for m := range b.Messages() {
		md, _ := m.Metadata()
		t.Fatalf("unexpected message %q (%+v)", m.Data(), md)
	}
}

func deliveries(t testing.TB, m jetstream.Msg) uint64 {
	t.Helper()
	md, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	return md.NumDelivered
}

// ackStream makes a stream with one message and an explicit-ack consumer.
func ackStream(t testing.TB, cfg jetstream.ConsumerConfig) (*nats.Conn, jetstream.JetStream, jetstream.Consumer) {
	t.Helper()
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "A", Subjects: []string{"a.>"}})
	jsPublishN(t, js, "a.x", "m", 1)
	cfg.Durable = "d"
	cfg.AckPolicy = jetstream.AckExplicitPolicy
	return nc, js, mustConsumer(t, s, cfg)
}

func TestJSConsumerAckWaitRedelivers(t *testing.T) {
	const ackWait = 200 * time.Millisecond
	_, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: ackWait})
	// Taken before the pull request: the first delivery, and so its ack
	// wait, cannot start earlier, however late the message reaches us.
	asked := time.Now()
	m := fetchOne(t, c, testTimeout)
	m2 := fetchOne(t, c, testTimeout)
	// The server's deadlines run on the wall clock: allow for a tick.
	if since := time.Since(asked); since < ackWait-5*time.Millisecond {
		t.Fatalf("redelivered %v after the first pull request; ack wait is %v", since, ackWait)
	}
	if string(m2.Data()) != string(m.Data()) || deliveries(t, m2) != 2 {
		t.Fatalf("redelivery %q #%d; want %q #2", m2.Data(), deliveries(t, m2), m.Data())
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumRedelivered != 1 || ci.NumAckPending != 1 {
			return fmt.Errorf("redelivered %d, ack pending %d; want 1, 1", ci.NumRedelivered, ci.NumAckPending)
		}
		return nil
	})
	if err := m2.DoubleAck(jsCtx(t)); err != nil {
		t.Fatal(err)
	}
	fetchNone(t, c, 400*time.Millisecond)
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 0 || ci.AckFloor.Stream != 1 {
			return fmt.Errorf("ack pending %d, floor %d", ci.NumAckPending, ci.AckFloor.Stream)
		}
		return nil
	})
}

func TestJSConsumerNak(t *testing.T) {
	_, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: time.Minute})
	m := fetchOne(t, c, testTimeout)
	if err := m.Nak(); err != nil {
		t.Fatal(err)
	}
	m2 := fetchOne(t, c, testTimeout)
	if deliveries(t, m2) != 2 {
		t.Fatalf("after a nak: delivery #%d; want #2", deliveries(t, m2))
	}
}

func TestJSConsumerNakWithDelay(t *testing.T) {
	// The delay is long next to the empty fetch below, so that a server
	// slow to take that pull request does not hold it into the delay's end.
	const delay = time.Second
	_, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: time.Minute})
	m := fetchOne(t, c, testTimeout)
	naked := time.Now()
	if err := m.NakWithDelay(delay); err != nil {
		t.Fatal(err)
	}
	fetchNone(t, c, 150*time.Millisecond)
	m2 := fetchOne(t, c, testTimeout)
	// The server's deadlines run on the wall clock: allow for a tick.
	if since := time.Since(naked); since < delay-5*time.Millisecond {
		t.Fatalf("redelivered %v after the nak; the delay is %v", since, delay)
	}
	if deliveries(t, m2) != 2 {
		t.Fatalf("delivery #%d; want #2", deliveries(t, m2))
	}
}

func TestJSConsumerInProgress(t *testing.T) {
	// Progress goes out every 100ms, ten times per ack wait, so that a
	// loaded machine that delays a few of them does not let the ack wait
	// run out.
	const ackWait = time.Second
	_, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: ackWait})
	m := fetchOne(t, c, testTimeout)
	start := time.Now()
	// Keep the message for more than two ack waits, saying so every 100ms.
	for time.Since(start) < 2*ackWait+ackWait/2 {
		if err := m.InProgress(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := m.InProgress(); err != nil {
		t.Fatal(err)
	}
	fetchNone(t, c, 100*time.Millisecond)
	// Once it stops, the message comes back after one ack wait.
	m2 := fetchOne(t, c, testTimeout)
	if deliveries(t, m2) != 2 {
		t.Fatalf("delivery #%d; want #2", deliveries(t, m2))
	}
}

// advisories collects the JSON advisories published on subject.
func advisories(t testing.TB, nc *nats.Conn, subject string) func(n int) []map[string]any {
	t.Helper()
	var mu sync.Mutex
	var got []map[string]any
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var a map[string]any
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Errorf("advisory %q: %v", m.Data, err)
			return
		}
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	nc.Flush()
	return func(n int) []map[string]any {
		t.Helper()
		waitUntil(t, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(got) < n {
				return fmt.Errorf("%d advisories on %s; want %d", len(got), subject, n)
			}
			return nil
		})
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), got...)
	}
}

func TestJSConsumerTerm(t *testing.T) {
	nc, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: 200 * time.Millisecond})
	adv := advisories(t, nc, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.A.d")
	m := fetchOne(t, c, testTimeout)
	if err := m.TermWithReason("bad input"); err != nil {
		t.Fatal(err)
	}
	a := adv(1)[0]
	if a["type"] != "io.nats.jetstream.advisory.v1.terminated" || a["stream_seq"] != 1.0 || a["reason"] != "bad input" {
		t.Fatalf("advisory %v", a)
	}
	fetchNone(t, c, 500*time.Millisecond)
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 0 {
			return fmt.Errorf("ack pending %d", ci.NumAckPending)
		}
		return nil
	})
}

func TestJSConsumerBackoff(t *testing.T) {
	backoff := []time.Duration{200 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond}
	nc, _, c := ackStream(t, jetstream.ConsumerConfig{BackOff: backoff, MaxDeliver: 4})
	adv := advisories(t, nc, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.A.d")
	var mu sync.Mutex
	var at []time.Time
	// Taken before the pull requests: the first delivery cannot come
	// earlier.
	start := time.Now()
	cc, err := c.Consume(func(m jetstream.Msg) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	a := adv(1)[0]
	if a["type"] != "io.nats.jetstream.advisory.v1.max_deliver" || a["deliveries"] != 4.0 || a["stream_seq"] != 1.0 {
		t.Fatalf("advisory %v", a)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 4 {
		t.Fatalf("%d deliveries; want 4", len(at))
	}
	// Arrival times are the server's delivery times plus a delay of our
	// own, which a loaded machine can stretch for any one message. So the
	// strict bound is on the time since start: delivery n comes no sooner
	// than the first n-1 backoffs added up. Each gap must still be most of
	// its own backoff (which one applies is what a gap shows), and none may
	// run far over.
	var sum time.Duration
	for i, want := range backoff {
		sum += want
		if since := at[i+1].Sub(start); since < sum-5*time.Millisecond {
			t.Errorf("delivery %d came %v after the first pull request; want at least %v", i+2, since, sum)
		}
		gap := at[i+1].Sub(at[i])
		if gap < want/2 || gap > want+3*time.Second {
			t.Errorf("gap before delivery %d = %v; want about %v", i+2, gap, want)
		}
	}
}

func TestJSConsumerMaxDeliver(t *testing.T) {
	nc, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: 100 * time.Millisecond, MaxDeliver: 3})
	adv := advisories(t, nc, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.A.d")
	for i := 1; i <= 3; i++ {
		m := fetchOne(t, c, testTimeout)
		if got := deliveries(t, m); got != uint64(i) {
			t.Fatalf("delivery #%d; want #%d", got, i)
		}
	}
	adv(1)
	fetchNone(t, c, 300*time.Millisecond)
}

func TestJSConsumerMaxAckPending(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "P", Subjects: []string{"p"}})
	jsPublishN(t, js, "p", "m", 20)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 5, AckWait: time.Minute})
	b, err := c.Fetch(20, jetstream.FetchMaxWait(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var got []jetstream.Msg
	for m := range b.Messages() {
		got = append(got, m)
	}
	if len(got) != 5 {
		t.Fatalf("fetched %d with max_ack_pending 5", len(got))
	}
	got[0].Ack()
	got[1].Ack()
	if more := fetchData(t, c, 20, 300*time.Millisecond, false); !equalList(more, seqs("m", 6, 7)) {
		t.Fatalf("after two acks: %v; want m-6, m-7", more)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 5 || ci.NumPending != 13 {
			return fmt.Errorf("ack pending %d, pending %d; want 5, 13", ci.NumAckPending, ci.NumPending)
		}
		return nil
	})
}

func TestJSConsumerAckAll(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "AA", Subjects: []string{"aa"}})
	jsPublishN(t, js, "aa", "m", 10)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckAllPolicy})
	b, err := c.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []jetstream.Msg
	for m := range b.Messages() {
		got = append(got, m)
	}
	if err := got[6].DoubleAck(jsCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 3 || ci.AckFloor.Stream != 7 {
			return fmt.Errorf("ack pending %d, floor %d; want 3, 7", ci.NumAckPending, ci.AckFloor.Stream)
		}
		return nil
	})
}

func TestJSConsumerAckNone(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "AN", Subjects: []string{"an"}})
	jsPublishN(t, js, "an", "m", 5)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckNonePolicy})
	if got := fetchData(t, c, 5, time.Second, false); !equalList(got, seqs("m", 1, 5)) {
		t.Fatalf("got %v", got)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 0 || ci.AckFloor.Stream != 5 || ci.Delivered.Consumer != 5 {
			return fmt.Errorf("info %+v", ci)
		}
		return nil
	})
}
