package mqtt

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestNATSToMQTT311(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	mc := b.client311(t, "sub", true, nil)
	ib := newInbox()
	wait(t, mc.Subscribe("sensors/+/temp", 0, ib.handler))
	nc := b.nats(t)
	nc.Publish("sensors.p1.temp", []byte("21.5"))
	nc.Publish("sensors.p1.hum", []byte("40"))
	nc.Publish("sensors.p2.temp", []byte("19"))
	got := ib.waitN(t, 2)
	if got[0].Topic() != "sensors/p1/temp" || string(got[0].Payload()) != "21.5" || got[1].Topic() != "sensors/p2/temp" {
		t.Fatalf("got %s, %s", describe(got[0]), describe(got[1]))
	}
}

func TestMQTT311ToNATS(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	nc := b.nats(t)
	sub, err := nc.SubscribeSync("plant.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	mc := b.client311(t, "pub", true, nil)
	for _, topic := range []string{"plant/line1/speed", "plant/a.b", "plant//x"} {
		wait(t, mc.Publish(topic, 1, false, "v"))
	}
	for _, want := range []string{"plant.line1.speed", "plant.a//b", "plant./.x"} {
		m, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if m.Subject != want || string(m.Data) != "v" {
			t.Fatalf("got %s %q; want %s", m.Subject, m.Data, want)
		}
	}
	_ = time.Second
	_ = nats.DefaultURL
}
