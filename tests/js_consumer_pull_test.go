package tests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestJSConsumerFetch(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "F", Subjects: []string{"f.>"}})
	jsPublishN(t, js, "f.a", "m", 10)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})

	if got, want := fetchData(t, c, 4, time.Second, true), seqs("m", 1, 4); !equalList(got, want) {
		t.Fatalf("first fetch = %v; want %v", got, want)
	}
	// A batch larger than what is left ends at the expiry with a 408.
	start := time.Now()
	if got, want := fetchData(t, c, 20, 300*time.Millisecond, true), seqs("m", 5, 10); !equalList(got, want) {
		t.Fatalf("second fetch = %v; want %v", got, want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("fetch took %v; the request should expire after 300ms", d)
	}
	// Nothing left: FetchNoWait ends at once with a 404.
	b, err := c.FetchNoWait(5)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range b.Messages() {
		n++
	}
	if n != 0 || b.Error() != nil {
		t.Fatalf("FetchNoWait = %d msgs, %v; want 0, nil", n, b.Error())
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.Delivered.Consumer != 10 || ci.Delivered.Stream != 10 || ci.AckFloor.Stream != 10 ||
			ci.NumAckPending != 0 || ci.NumPending != 0 || ci.NumWaiting != 0 {
			return fmt.Errorf("info %+v", ci)
		}
		return nil
	})
}

func TestJSConsumerFetchMaxBytes(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "FB", Subjects: []string{"fb"}})
	jsPublishN(t, js, "fb", "0123456789", 5)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckNonePolicy})
	// A delivery counts subject, ack subject and payload, as the client
	// does: about 60 bytes here, so 150 bytes take two messages.
	b, err := c.FetchBytes(150, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range b.Messages() {
		n++
	}
	if n != 2 || b.Error() != nil {
		t.Fatalf("FetchBytes(150) = %d msgs, %v; want 2, nil", n, b.Error())
	}
}

func TestJSConsumerNext(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "N", Subjects: []string{"n"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})
	// Next waits for a message published after it asked: the publish
	// waits until the server holds the pull request.
	published := make(chan error, 1)
	go func() {
		err := poll(testTimeout, func() error {
			ci, err := c.Info(context.Background())
			if err == nil && ci.NumWaiting != 1 {
				err = fmt.Errorf("%d pull requests waiting", ci.NumWaiting)
			}
			return err
		})
		if err != nil {
			published <- fmt.Errorf("no pull request waiting after %v (%v)", testTimeout, err)
			return
		}
		_, err = js.Publish(context.Background(), "n", []byte("late"))
		published <- err
	}()
	m, err := c.Next(jetstream.FetchMaxWait(testTimeout + 5*time.Second))
	if perr := <-published; perr != nil {
		t.Fatal(perr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data()) != "late" || m.Subject() != "n" {
		t.Fatalf("Next = %q on %q; want late on n", m.Data(), m.Subject())
	}
	md, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if md.Sequence.Stream != 1 || md.Sequence.Consumer != 1 || md.NumDelivered != 1 || md.Stream != "N" || md.Consumer != "d" {
		t.Fatalf("metadata %+v", md)
	}
	if err := m.DoubleAck(jsCtx(t)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Next(jetstream.FetchMaxWait(200 * time.Millisecond))
	if !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("Next on an empty stream = %v; want a timeout", err)
	}
}

func TestJSConsumerConsume(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "C", Subjects: []string{"c.>"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})
	const total = 2000
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
	}, jetstream.PullMaxMessages(100), jetstream.PullExpiry(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	jsPublishN(t, js, "c.x", "m", total)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		mu.Lock()
		t.Fatalf("received %d of %d", len(seen), total)
	}
	mu.Lock()
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	mu.Unlock()
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.AckFloor.Stream != total || ci.NumAckPending != 0 {
			return fmt.Errorf("ack floor %d, ack pending %d", ci.AckFloor.Stream, ci.NumAckPending)
		}
		return nil
	})
}

func TestJSConsumerMessages(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "M", Subjects: []string{"m"}})
	jsPublishN(t, js, "m", "m", 50)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})
	opts := []jetstream.PullMessagesOpt{jetstream.PullMaxMessages(7), jetstream.PullHeartbeat(500 * time.Millisecond), jetstream.PullExpiry(time.Second)}
	// nats.go's iterator (v1.55.0) can fail to ask for more: when it is
	// owed nothing but its previous pull request is still being sent, Next
	// skips the new one and waits, and after two heartbeat intervals with
	// no request on the server (so no heartbeats) it reports a missing
	// heartbeat. A slow machine makes that likely. While reading, let it
	// recover from that (it asks again) instead of reporting it; the idle
	// part below, where heartbeats are what is checked, reports it.
	it, err := c.Messages(append(opts, jetstream.WithMessagesErrOnMissingHeartbeat(false))...)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	var got []string
	for len(got) < 50 {
		m, err := it.Next(jetstream.NextMaxWait(testTimeout))
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		got = append(got, string(m.Data()))
		m.Ack()
	}
	if want := seqs("m", 1, 50); !equalList(got, want) {
		t.Fatalf("got %v; want %v", got, want)
	}
	it.Stop()
	// Idle with heartbeats for longer than two expiries: no error.
	it, err = c.Messages(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	errc := make(chan error, 1)
	go func() {
		m, err := it.Next()
		if err == nil {
			err = fmt.Errorf("unexpected message %q", m.Data())
		}
		errc <- err
	}()
	time.Sleep(2500 * time.Millisecond)
	it.Stop()
	if err := <-errc; !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
		t.Fatalf("idle iterator ended with %v; want ErrMsgIteratorClosed", err)
	}
}

// Many pull clients on one durable consumer each receive distinct
// messages, and together all of them.
func TestJSConsumerCompetingPull(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "W", Subjects: []string{"w"}})
	mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "workers", AckPolicy: jetstream.AckExplicitPolicy})
	const total, clients = 3000, 6
	var mu sync.Mutex
	seen := make(map[string]int)
	perClient := make([]int, clients)
	done := make(chan struct{})
	for i := 0; i < clients; i++ {
		_, cjs := jsConnect(t, j)
		c, err := cjs.Consumer(jsCtx(t), "W", "workers")
		if err != nil {
			t.Fatal(err)
		}
		cc, err := c.Consume(func(m jetstream.Msg) {
			m.Ack()
			mu.Lock()
			seen[string(m.Data())]++
			perClient[i]++
			if len(seen) == total {
				close(done)
			}
			mu.Unlock()
		}, jetstream.PullMaxMessages(50))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Stop()
	}
	jsPublishN(t, js, "w", "job", total)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		mu.Lock()
		t.Fatalf("received %d of %d", len(seen), total)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	busy := 0
	for _, n := range perClient {
		if n > 0 {
			busy++
		}
	}
	if busy < 2 {
		t.Errorf("per-client counts %v: want the work spread over clients", perClient)
	}
}

func TestJSConsumerMaxWaiting(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "MW", Subjects: []string{"mw"}})
	mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, MaxWaiting: 1})
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	req := []byte(`{"batch":1,"expires":5000000000}`)
	for i := 0; i < 2; i++ {
		if err := nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.MW.d", inbox, req); err != nil {
			t.Fatal(err)
		}
	}
	m, err := sub.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Header.Get("Status")+" "+m.Header.Get("Description"), "409 Exceeded MaxWaiting"; got != want {
		t.Fatalf("second request answered %q; want %q", got, want)
	}
}

// A pull request whose client went away is dropped, not delivered to.
func TestJSConsumerAbandonedRequest(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "AB", Subjects: []string{"ab"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.AB.d", inbox, []byte(`{"batch":5,"expires":60000000000}`)); err != nil {
		t.Fatal(err)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumWaiting != 1 {
			return fmt.Errorf("waiting %d", ci.NumWaiting)
		}
		return nil
	})
	sub.Unsubscribe()
	nc.Flush()
	jsPublishN(t, js, "ab", "m", 1)
	if got := fetchData(t, c, 1, 2*time.Second, true); !equalList(got, []string{"m-1"}) {
		t.Fatalf("got %v; the abandoned request should not have taken m-1", got)
	}
}
