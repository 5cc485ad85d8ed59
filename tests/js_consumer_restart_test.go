package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// drainConsumer fetches until nothing comes for quiet, acking each
// message, and returns the payloads with their delivery counts.
//
// A message is acked as it arrives, but after the acks of those before it
// in its batch, and a batch the stream cannot fill stays open for quiet:
// a message whose ack wait ran out meanwhile comes again into the same
// batch. Small batches keep the time from a delivery to its ack short.
func drainConsumer(t testing.TB, c jetstream.Consumer, quiet time.Duration) map[string]uint64 {
	t.Helper()
	got := make(map[string]uint64)
	for {
		b, err := c.Fetch(10, jetstream.FetchMaxWait(quiet))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range b.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := got[string(m.Data())]; dup {
				t.Errorf("%s delivered again (#%d)", m.Data(), md.NumDelivered)
			}
			got[string(m.Data())] = md.NumDelivered
			if err := m.DoubleAck(jsCtx(t)); err != nil {
				t.Fatal(err)
			}
		}
		if n == 0 {
			return got
		}
	}
}

func TestJSConsumerSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	j := startJS(t, dir)
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "R", Subjects: []string{"r.>"}})
	jsPublishN(t, js, "r.a", "m", 20)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{
		Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second,
		FilterSubject: "r.a",
	})
	b, err := c.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{"m-1": true, "m-2": true, "m-3": true, "m-4": true, "m-5": true, "m-8": true}
	for m := range b.Messages() {
		if acked[string(m.Data())] {
			if err := m.DoubleAck(jsCtx(t)); err != nil {
				t.Fatal(err)
			}
		}
	}
	j.stop()

	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	c = consumerOfStream(t, js, "R", "d")
	ci, err := c.Info(jsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ci.Delivered.Consumer != 10 || ci.Delivered.Stream != 10 || ci.AckFloor.Stream != 5 ||
		ci.NumAckPending != 4 || ci.NumPending != 10 || ci.Config.FilterSubject != "r.a" {
		t.Fatalf("after restart: delivered %+v, floor %+v, ack pending %d, pending %d",
			ci.Delivered, ci.AckFloor, ci.NumAckPending, ci.NumPending)
	}
	// Longer than the ack wait, after which the restored pending come
	// back.
	got := drainConsumer(t, c, 2*time.Second)
	want := map[string]uint64{"m-6": 2, "m-7": 2, "m-9": 2, "m-10": 2}
	for i := 11; i <= 20; i++ {
		want["m-"+strconv.Itoa(i)] = 1
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart got %v; want %v", got, want)
	}
	// The state compacts and restores again.
	j.stop()
	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	c = consumerOfStream(t, js, "R", "d")
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.AckFloor.Stream != 20 || ci.NumAckPending != 0 || ci.NumPending != 0 {
			return fmt.Errorf("second restart: floor %+v, ack pending %d, pending %d", ci.AckFloor, ci.NumAckPending, ci.NumPending)
		}
		return nil
	})
}

func consumerOfStream(t testing.TB, js jetstream.JetStream, stream, name string) jetstream.Consumer {
	t.Helper()
	c, err := js.Consumer(jsCtx(t), stream, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestJSConsumerCrashKeepsConfirmedAcks acks with AckSync from several
// clients, kills the daemon with SIGKILL while acks are in flight, and
// checks after a restart that no message whose ack was confirmed comes
// back and that every message no client acked still does. (A message
// whose ack was sent but not confirmed may go either way.)
func TestJSConsumerCrashKeepsConfirmedAcks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the daemon")
	}
	base := t.TempDir()
	dir := filepath.Join(base, "store")
	d := startDaemon(t, dir)
	nc, err := nats.Connect(d.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "K", Subjects: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	const total = 5000
	jsPublishN(t, js, "k", "m", total)
	if _, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second, MaxAckPending: 10000,
	}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	confirmed := make(map[string]bool)
	received := make(map[string]bool) // an ack was sent, maybe not confirmed
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := js.Consumer(ctx, "K", "d")
			if err != nil {
				return
			}
			for {
				b, err := c.Fetch(50, jetstream.FetchMaxWait(time.Second))
				if err != nil {
					return
				}
				n := 0
				for m := range b.Messages() {
					n++
					mu.Lock()
					received[string(m.Data())] = true
					mu.Unlock()
					if m.DoubleAck(ctx) == nil {
						mu.Lock()
						confirmed[string(m.Data())] = true
						mu.Unlock()
					}
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	waitUntil(t, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(confirmed) < total/3 {
			return fmt.Errorf("%d confirmed", len(confirmed))
		}
		return nil
	})
	d.kill()
	nc.Close()
	wg.Wait()
	mu.Lock()
	before := len(confirmed)
	mu.Unlock()
	if before >= total {
		t.Fatalf("all %d acks confirmed before the kill; the test needs acks in flight", before)
	}

	d = startDaemon(t, dir)
	nc2, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	js2, err := jetstream.New(nc2)
	if err != nil {
		t.Fatal(err)
	}
	c, err := js2.Consumer(ctx, "K", "d")
	if err != nil {
		t.Fatal(err)
	}
	// Longer than the ack wait, after which what was delivered before the
	// kill and never acked comes back.
	got := drainConsumer(t, c, 2*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for p := range got {
		if confirmed[p] {
			t.Errorf("%s redelivered after its ack was confirmed", p)
		}
	}
	for i := 1; i <= total; i++ {
		p := "m-" + strconv.Itoa(i)
		if !received[p] {
			if _, ok := got[p]; !ok {
				t.Errorf("%s was never acked and is lost", p)
			}
		}
	}
	t.Logf("%d acks confirmed before the kill, %d delivered after the restart", before, len(got))
}
