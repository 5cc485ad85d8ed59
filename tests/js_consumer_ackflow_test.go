package tests

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestJSConsumerAcksDuringStreamCreates acks, each confirmed by the
// server, while 20 file streams are being created (each creation
// fsyncs): every ack is processed.
func TestJSConsumerAcksDuringStreamCreates(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "AF", Subjects: []string{"af"}})
	const total = 200
	jsPublishN(t, js, "af", "m", total)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	b, err := c.Fetch(total, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	if len(msgs) != total {
		t.Fatalf("fetched %d; want %d", len(msgs), total)
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 20+total)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := js.CreateStream(jsCtx(t), jetstream.StreamConfig{
				Name:     fmt.Sprintf("NEW%d", i),
				Subjects: []string{fmt.Sprintf("new.%d.>", i)},
			})
			if err != nil {
				errs <- fmt.Errorf("create stream %d: %w", i, err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		for _, m := range msgs {
			if err := m.DoubleAck(jsCtx(t)); err != nil {
				errs <- fmt.Errorf("ack: %w", err)
			}
		}
	}()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ci := wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 0 || ci.AckFloor.Stream != total {
			return fmt.Errorf("ack pending %d, ack floor %d", ci.NumAckPending, ci.AckFloor.Stream)
		}
		return nil
	})
	if ci.NumRedelivered != 0 {
		t.Fatalf("redelivered %d", ci.NumRedelivered)
	}
	names := js.StreamNames(jsCtx(t))
	n := 0
	for range names.Name() {
		n++
	}
	if n != 21 {
		t.Fatalf("%d streams; want 21", n)
	}
}
