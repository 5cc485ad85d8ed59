package tests

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// replayGaps are the pauses between the messages TestJSConsumerReplayOriginal
// publishes.
var replayGaps = []time.Duration{200 * time.Millisecond, 300 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}

// checkReplayGaps checks the pacing of messages that arrived at the given
// times, after a consumer that started no sooner than start. Only lower
// bounds: a loaded machine may deliver later, never sooner.
//
// An arrival time is the server's delivery time plus a delay of our own,
// which may stretch for any one message and so shorten the gap after it.
// The strict bound is therefore on the time since start: the server sends
// message n no sooner than message 1 was stored before it. Each gap must
// still be at least half as long as the stored one.
func checkReplayGaps(t *testing.T, start time.Time, stored []time.Time, arrived []time.Time) {
	t.Helper()
	if len(arrived) != len(replayGaps)+1 {
		t.Fatalf("received %d messages; want %d", len(arrived), len(replayGaps)+1)
	}
	for i := 1; i < len(arrived); i++ {
		// Stored times are the server's wall clock: allow for a tick.
		span, since := stored[i].Sub(stored[0]), arrived[i].Sub(start)
		if since < span-5*time.Millisecond {
			t.Errorf("message %d came %v after the consumer started; stored %v after the first", i+1, since, span)
		}
		orig, got := stored[i].Sub(stored[i-1]), arrived[i].Sub(arrived[i-1])
		if got < orig/2 {
			t.Errorf("message %d came %v after the previous one; stored %v apart", i+1, got, orig)
		}
	}
}

func TestJSConsumerReplayOriginal(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "RO", Subjects: []string{"ro"}})
	jsPublishN(t, js, "ro", "m", 1)
	for i, gap := range replayGaps {
		time.Sleep(gap)
		mustPublish(t, js, "ro", "later", uint64(i+2))
	}

	t.Run("pull", func(t *testing.T) {
		c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "pull", AckPolicy: jetstream.AckExplicitPolicy, ReplayPolicy: jetstream.ReplayOriginalPolicy})
		if got := c.CachedInfo().Config.ReplayPolicy; got != jetstream.ReplayOriginalPolicy {
			t.Fatalf("replay policy %v; want original", got)
		}
		start := time.Now()
		b, err := c.Fetch(len(replayGaps)+1, jetstream.FetchMaxWait(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		var stored, arrived []time.Time
		for m := range b.Messages() {
			arrived = append(arrived, time.Now())
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, md.Timestamp)
			m.Ack()
		}
		if err := b.Error(); err != nil {
			t.Fatal(err)
		}
		checkReplayGaps(t, start, stored, arrived)
	})

	t.Run("push", func(t *testing.T) {
		start := time.Now()
		c, err := s.CreateOrUpdatePushConsumer(jsCtx(t), jetstream.ConsumerConfig{
			Durable:        "push",
			DeliverSubject: nc.NewInbox(),
			AckPolicy:      jetstream.AckExplicitPolicy,
			ReplayPolicy:   jetstream.ReplayOriginalPolicy,
		})
		if err != nil {
			t.Fatal(err)
		}
		type arrival struct{ stored, at time.Time }
		got := make(chan arrival, 16)
		cc, err := c.Consume(func(m jetstream.Msg) {
			at := time.Now()
			md, err := m.Metadata()
			if err != nil {
				t.Error(err)
				return
			}
			m.Ack()
			got <- arrival{md.Timestamp, at}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Stop()
		var stored, arrived []time.Time
		deadline := time.After(testTimeout + 2*time.Second)
		for len(arrived) < len(replayGaps)+1 {
			select {
			case a := <-got:
				stored, arrived = append(stored, a.stored), append(arrived, a.at)
			case <-deadline:
				t.Fatalf("received %d of %d messages", len(arrived), len(replayGaps)+1)
			}
		}
		checkReplayGaps(t, start, stored, arrived)
	})
}
