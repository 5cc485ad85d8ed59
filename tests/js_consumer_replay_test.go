package tests

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// replayGaps are the pauses between the messages TestJSConsumerReplayOriginal
// publishes.
var replayGaps = []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}

// checkReplayGaps checks that messages arrived at least 80% as far apart
// as they were stored. Only lower bounds: a loaded machine may deliver
// later, never sooner.
func checkReplayGaps(t *testing.T, stored []time.Time, arrived []time.Time) {
	t.Helper()
	if len(arrived) != len(replayGaps)+1 {
		t.Fatalf("received %d messages; want %d", len(arrived), len(replayGaps)+1)
	}
	for i := 1; i < len(arrived); i++ {
		orig, got := stored[i].Sub(stored[i-1]), arrived[i].Sub(arrived[i-1])
		if got < orig*8/10 {
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
		b, err := c.Fetch(len(replayGaps)+1, jetstream.FetchMaxWait(10*time.Second))
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
		checkReplayGaps(t, stored, arrived)
		var total time.Duration
		for _, g := range replayGaps {
			total += g
		}
		if d := time.Since(start); d < total*8/10 {
			t.Fatalf("fetch took %v; the stored messages span %v", d, total)
		}
	})

	t.Run("push", func(t *testing.T) {
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
		deadline := time.After(10 * time.Second)
		for len(arrived) < len(replayGaps)+1 {
			select {
			case a := <-got:
				stored, arrived = append(stored, a.stored), append(arrived, a.at)
			case <-deadline:
				t.Fatalf("received %d of %d messages", len(arrived), len(replayGaps)+1)
			}
		}
		checkReplayGaps(t, stored, arrived)
	})
}
