package mqtt

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// A persistent session keeps its subscriptions and queues QoS 1 and 2
// messages while the client is away; they arrive when it comes back, at
// the QoS they were granted, and QoS 0 messages are not kept.
func TestPersistentSessionQueues(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	ib := newInbox()
	sub := b.client311(t, "dev1", false, nil)
	wait(t, sub.Subscribe("q/#", 2, ib.handler))
	sub.Disconnect(100)

	pub := b.client311(t, "pub", true, nil)
	wait(t, pub.Publish("q/1", 1, false, "one"))
	wait(t, pub.Publish("q/2", 2, false, "two"))
	wait(t, pub.Publish("q/0", 0, false, "zero"))
	wait(t, pub.Publish("q", 1, false, "parent")) // q/# matches q too

	ib2 := newInbox()
	back := b.client311(t, "dev1", false, func(o *paho.ClientOptions) { o.SetDefaultPublishHandler(ib2.handler) })
	got := ib2.waitN(t, 3)
	want := map[string]byte{"one": 1, "two": 2, "parent": 1}
	for _, m := range got {
		q, ok := want[string(m.Payload())]
		if !ok || q != m.Qos() {
			t.Errorf("unexpected %s", describe(m))
		}
		delete(want, string(m.Payload()))
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
	// The subscription came back with the session: new messages flow.
	wait(t, pub.Publish("q/3", 1, false, "three"))
	if m := ib2.waitN(t, 4)[3]; string(m.Payload()) != "three" {
		t.Errorf("after reconnect got %s", describe(m))
	}
	_ = back
}

// A clean session forgets everything when the client goes.
func TestCleanSessionForgets(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	ib := newInbox()
	sub := b.client311(t, "dev2", true, nil)
	wait(t, sub.Subscribe("c/x", 1, ib.handler))
	sub.Disconnect(100)
	waitFor(t, func() bool { return b.l.Stats().Sessions == 0 })
	pub := b.client311(t, "pub", true, nil)
	wait(t, pub.Publish("c/x", 1, false, "lost"))
	ib2 := newInbox()
	b.client311(t, "dev2", false, func(o *paho.ClientOptions) { o.SetDefaultPublishHandler(ib2.handler) })
	wait(t, pub.Publish("c/x", 1, false, "also lost"))
	time.Sleep(100 * time.Millisecond)
	if n := ib2.count(); n != 0 {
		t.Fatalf("a clean session's subscription outlived it: %d messages", n)
	}
}

// Retained messages: set, replaced, delivered on subscribe with the retain
// flag, cleared by an empty payload; matched by wildcard filters.
func TestRetained(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	pub := b.client311(t, "pub", true, nil)
	wait(t, pub.Publish("home/kitchen/temp", 1, true, "20"))
	wait(t, pub.Publish("home/kitchen/temp", 1, true, "21"))
	wait(t, pub.Publish("home/hall/temp", 0, true, "18"))
	wait(t, pub.Publish("home/hall/door", 1, true, "open"))
	wait(t, pub.Publish("home/hall/door", 1, true, ""))

	ib := newInbox()
	sub := b.client311(t, "sub", true, nil)
	wait(t, sub.Subscribe("home/+/temp", 1, ib.handler))
	got := ib.waitN(t, 2)
	seen := map[string]string{}
	for _, m := range got {
		if !m.Retained() {
			t.Errorf("%s: retain flag not set on subscribe", describe(m))
		}
		seen[m.Topic()] = string(m.Payload())
	}
	if seen["home/kitchen/temp"] != "21" || seen["home/hall/temp"] != "18" {
		t.Fatalf("retained on subscribe: %v", seen)
	}
	ib2 := newInbox()
	sub2 := b.client311(t, "sub2", true, nil)
	wait(t, sub2.Subscribe("home/#", 0, ib2.handler))
	if got := ib2.waitN(t, 2); len(got) != 2 {
		t.Fatalf("home/# got %d", len(got))
	}
	// A live retained publish reaches existing subscribers without the flag.
	wait(t, pub.Publish("home/kitchen/temp", 1, true, "22"))
	m := ib.waitN(t, 3)[2]
	if m.Retained() || string(m.Payload()) != "22" {
		t.Fatalf("live: %s", describe(m))
	}
	if n := b.l.Stats().Retained; n != 2 {
		t.Fatalf("%d retained messages; want 2", n)
	}
}

// The will is published when a client goes without DISCONNECT, not when it
// disconnects normally.
func TestWill(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	ib := newInbox()
	watch := b.client311(t, "watch", true, nil)
	wait(t, watch.Subscribe("status/#", 1, ib.handler))

	polite := b.client311(t, "polite", true, func(o *paho.ClientOptions) { o.SetWill("status/polite", "gone", 1, false) })
	polite.Disconnect(100)

	nc := b.nats(t)
	sub, _ := nc.SubscribeSync("status.rude")
	nc.Flush()
	rude := rawConnect(t, b, "rude", "status/rude", "offline")
	rude.Close()
	m := ib.waitN(t, 1)[0]
	if m.Topic() != "status/rude" || string(m.Payload()) != "offline" {
		t.Fatalf("will: %s", describe(m))
	}
	if nm, err := sub.NextMsg(testTimeout); err != nil || string(nm.Data) != "offline" {
		t.Fatalf("NATS subscriber: %v %v", nm, err)
	}
	if ib.count() != 1 {
		t.Fatalf("polite client's will was published")
	}
}

// A second connection with the same client id takes the session over: the
// first is disconnected, the subscriptions carry on.
func TestTakeover(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	lost := make(chan error, 1)
	ib := newInbox()
	first := b.client311(t, "same", false, func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	})
	wait(t, first.Subscribe("t/x", 1, ib.handler))
	ib2 := newInbox()
	b.client311(t, "same", false, func(o *paho.ClientOptions) { o.SetDefaultPublishHandler(ib2.handler) })
	select {
	case <-lost:
	case <-time.After(testTimeout):
		t.Fatal("first connection not closed by the takeover")
	}
	pub := b.client311(t, "pub", true, nil)
	wait(t, pub.Publish("t/x", 1, false, "hi"))
	if m := ib2.waitN(t, 1)[0]; string(m.Payload()) != "hi" {
		t.Fatalf("got %s", describe(m))
	}
	if ib.count() != 0 {
		t.Fatal("the taken-over connection still got messages")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
