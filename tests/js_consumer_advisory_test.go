package tests

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestJSConsumerNakAdvisory(t *testing.T) {
	nc, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: 5 * time.Second})
	adv := advisories(t, nc, "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.A.d")

	// A plain -NAK, then one with a delay on the redelivery: one advisory
	// each, counting the deliveries so far.
	m := fetchOne(t, c, testTimeout)
	if err := m.Nak(); err != nil {
		t.Fatal(err)
	}
	m = fetchOne(t, c, testTimeout)
	if err := m.NakWithDelay(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	m = fetchOne(t, c, testTimeout)
	if err := m.DoubleAck(jsCtx(t)); err != nil {
		t.Fatal(err)
	}
	got := adv(2)
	for i, a := range got {
		want := map[string]any{
			"type":         "io.nats.jetstream.advisory.v1.nak",
			"stream":       "A",
			"consumer":     "d",
			"stream_seq":   1.0,
			"consumer_seq": float64(i + 1),
			"deliveries":   float64(i + 1),
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("advisory %d: %s = %v; want %v", i+1, k, a[k], v)
			}
		}
		if id, _ := a["id"].(string); id == "" {
			t.Errorf("advisory %d: no id: %v", i+1, a)
		}
		if ts, _ := a["timestamp"].(string); ts == "" {
			t.Errorf("advisory %d: no timestamp: %v", i+1, a)
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("advisory %d: timestamp %q: %v", i+1, ts, err)
		}
		if _, ok := a["domain"]; ok {
			t.Errorf("advisory %d: domain set without a domain: %v", i+1, a)
		}
	}
	if len(got) > 0 && got[0]["id"] == got[len(got)-1]["id"] {
		t.Errorf("advisories share id %v", got[0]["id"])
	}
	// An ack ends it: no more advisories. The server has confirmed the
	// ack, so a marker published now reaches the subscriber after any
	// advisory it caused.
	if err := nc.Publish("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.A.d", []byte(`{"type":"marker"}`)); err != nil {
		t.Fatal(err)
	}
	if got := adv(3); len(got) != 3 || got[2]["type"] != "marker" {
		t.Fatalf("after the ack: %v; want the 2 nak advisories, then the marker", got)
	}
}
