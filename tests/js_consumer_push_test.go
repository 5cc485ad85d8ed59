package tests

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestJSConsumerPush(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "PU", Subjects: []string{"pu.>"}})
	c, err := s.CreateOrUpdatePushConsumer(jsCtx(t), jetstream.ConsumerConfig{
		Durable:        "push",
		DeliverSubject: nc.NewInbox(),
		AckPolicy:      jetstream.AckExplicitPolicy,
		FlowControl:    true,
		IdleHeartbeat:  500 * time.Millisecond,
		AckWait:        time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	const total = 3000 // several flow control rounds
	var mu sync.Mutex
	seen := make(map[string]int)
	done := make(chan struct{})
	cc, err := c.Consume(func(m jetstream.Msg) {
		m.Ack()
		mu.Lock()
		seen[string(m.Data())]++
		if len(seen) == total {
			close(done)
		}
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	jsPublishN(t, js, "pu.a", "m", total)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		mu.Lock()
		t.Fatalf("received %d of %d", len(seen), total)
	}
	// Idle: heartbeats arrive and the subscription stays healthy.
	raw, err := nc.SubscribeSync(c.CachedInfo().Config.DeliverSubject)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := raw.NextMsg(3 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := hb.Header.Get("Status") + " " + hb.Header.Get("Description"); got != "100 Idle Heartbeat" {
		t.Fatalf("idle status %q; want 100 Idle Heartbeat", got)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 0 || ci.AckFloor.Stream != total {
			return fmt.Errorf("ack pending %d, floor %d", ci.NumAckPending, ci.AckFloor.Stream)
		}
		return nil
	})
}

// A push subscriber that never answers flow control receives a bounded
// number of messages.
func TestJSConsumerPushFlowControlStalls(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "FC", Subjects: []string{"fc"}})
	deliver := nc.NewInbox()
	sub, err := nc.SubscribeSync(deliver)
	if err != nil {
		t.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1)
	if _, err := s.CreateOrUpdatePushConsumer(jsCtx(t), jetstream.ConsumerConfig{
		Durable: "fc", DeliverSubject: deliver, AckPolicy: jetstream.AckNonePolicy,
		FlowControl: true, IdleHeartbeat: 200 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	jsPublishN(t, js, "fc", "m", 2000)
	var msgs, fcs int
	var fcReply string
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		m, err := sub.NextMsg(300 * time.Millisecond)
		if err != nil {
			continue
		}
		if len(m.Data) == 0 && m.Header.Get("Status") == "100" {
			if m.Header.Get("Description") == "FlowControl Request" {
				fcs++
				fcReply = m.Reply
			}
			continue
		}
		msgs++
	}
	if msgs == 0 || msgs >= 2000 || fcs == 0 {
		t.Fatalf("unanswered flow control: %d msgs, %d requests; want a stall short of 2000", msgs, fcs)
	}
	// Answering resumes delivery.
	if err := nc.Publish(fcReply, nil); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = m
}

func TestJSConsumerOrdered(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.>"}})
	jsPublishN(t, js, "o.a", "m", 100)
	c, err := s.OrderedConsumer(jsCtx(t), jetstream.OrderedConsumerConfig{FilterSubjects: []string{"o.a"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	it, err := c.Messages()
	if err != nil {
		t.Fatal(err)
	}
	for len(got) < 150 {
		if len(got) == 100 {
			jsPublishN(t, js, "o.a", "n", 50)
		}
		m, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Data()))
	}
	it.Stop()
	want := append(seqs("m", 1, 100), seqs("n", 1, 50)...)
	if !equalList(got, want) {
		t.Fatalf("ordered consumer got %v", got)
	}
	// Fetch from a second ordered consumer starting at sequence 140.
	c2, err := s.OrderedConsumer(jsCtx(t), jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 140,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fetchData(t, c2, 20, time.Second, false); !equalList(got, seqs("n", 40, 50)) {
		t.Fatalf("ordered fetch from 140 = %v", got)
	}
}

// A push consumer with a deliver group spreads messages over the group.
func TestJSConsumerPushGroup(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "PG", Subjects: []string{"pg"}})
	deliver := nc.NewInbox()
	var mu sync.Mutex
	counts := map[int]int{}
	total := 0
	for i := 0; i < 3; i++ {
		if _, err := nc.QueueSubscribe(deliver, "workers", func(m *nats.Msg) {
			m.Ack()
			mu.Lock()
			counts[i]++
			total++
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	nc.Flush()
	if _, err := s.CreateOrUpdatePushConsumer(jsCtx(t), jetstream.ConsumerConfig{
		Durable: "g", DeliverSubject: deliver, DeliverGroup: "workers", AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	jsPublishN(t, js, "pg", "m", 300)
	waitUntil(t, func() error {
		mu.Lock()
		defer mu.Unlock()
		if total < 300 {
			return fmt.Errorf("%d of 300", total)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(counts) < 2 {
		t.Fatalf("group counts %v: want more than one member used", counts)
	}
}

// A push consumer waits for a subscriber on its deliver subject before it
// delivers, so nothing published before the subscription is lost.
func TestJSConsumerPushWaitsForInterest(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "PI", Subjects: []string{"pi"}})
	deliver := nc.NewInbox()
	c, err := s.CreateOrUpdatePushConsumer(jsCtx(t), jetstream.ConsumerConfig{
		Durable: "late", DeliverSubject: deliver, AckPolicy: jetstream.AckNonePolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	jsPublishN(t, js, "pi", "m", 10)
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.PushBound || ci.Delivered.Consumer != 0 || ci.NumPending != 10 {
			return fmt.Errorf("unbound consumer: bound %v, delivered %d, pending %d", ci.PushBound, ci.Delivered.Consumer, ci.NumPending)
		}
		return nil
	})
	sub, err := nc.SubscribeSync(deliver)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 10 {
		m, err := sub.NextMsg(3 * time.Second)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, string(m.Data))
	}
	if !equalList(got, seqs("m", 1, 10)) {
		t.Fatalf("got %v", got)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if !ci.PushBound {
			return fmt.Errorf("push_bound false with a subscriber")
		}
		return nil
	})
}
