package mqtt

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/protocol/mqtt"
)

// client5 is a paho MQTT 5 client with the messages it received.
type client5 struct {
	*paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
	ch   chan struct{}
	ack  *paho.Connack
}

func (b *testBroker) client5(t *testing.T, id string, cp *paho.Connect) *client5 {
	t.Helper()
	nc, err := net.Dial("tcp", b.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := &client5{ch: make(chan struct{}, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			c.mu.Lock()
			c.msgs = append(c.msgs, pr.Packet)
			c.mu.Unlock()
			select {
			case c.ch <- struct{}{}:
			default:
			}
			return true, nil
		}},
	})
	if cp == nil {
		cp = &paho.Connect{CleanStart: true}
	}
	cp.ClientID = id
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ack, err := c.Connect(ctx, cp)
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	c.ack = ack
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return c
}

func (c *client5) sub(t *testing.T, s *paho.Subscribe) *paho.Suback {
	t.Helper()
	sa, err := c.Subscribe(ctx(t), s)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return sa
}

func (c *client5) pub(t *testing.T, p *paho.Publish) {
	t.Helper()
	if _, err := c.Publish(ctx(t), p); err != nil {
		t.Fatalf("publish %s: %v", p.Topic, err)
	}
}

func (c *client5) waitN(t *testing.T, n int) []*paho.Publish {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		c.mu.Lock()
		if len(c.msgs) >= n {
			out := append([]*paho.Publish(nil), c.msgs...)
			c.mu.Unlock()
			return out
		}
		got := len(c.msgs)
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("got %d messages; want %d", got, n)
		}
	}
}

func (c *client5) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }

// settle makes sure every message a publish could have produced for c has
// arrived: a QoS 1 publish to a marker topic c also subscribes to, which
// the broker delivers after them on the same connection. The marker is
// taken out of the messages again.
func (c *client5) settle(t *testing.T, via *client5, marker string) {
	t.Helper()
	via.pub(t, &paho.Publish{Topic: marker, QoS: 1, Payload: []byte("marker")})
	deadline := time.After(testTimeout)
	for {
		c.mu.Lock()
		for i, m := range c.msgs {
			if m.Topic == marker {
				c.msgs = append(c.msgs[:i], c.msgs[i+1:]...)
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatal("the marker did not arrive")
		}
	}
}

// User properties become NATS headers and back; content type, correlation
// data and the payload format travel too.
func TestMQTT5PropertiesAndHeaders(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	nc := b.nats(t)
	sub, _ := nc.SubscribeSync("dev.>")
	nc.Flush()
	c := b.client5(t, "p5", nil)
	one := byte(1)
	c.pub(t, &paho.Publish{Topic: "dev/a", QoS: 1, Payload: []byte("x"), Properties: &paho.PublishProperties{
		User: paho.UserProperties{{Key: "unit", Value: "C"}, {Key: "unit", Value: "F"}}, ContentType: "text/plain", PayloadFormat: &one,
	}})
	m, err := sub.NextMsg(testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Values("unit"); len(got) != 2 || got[0] != "C" || got[1] != "F" || m.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("headers %v", m.Header)
	}

	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "svc/#", QoS: 0}}})
	hm := nats.NewMsg("svc.x")
	hm.Header.Set("Trace-Id", "abc")
	hm.Data = []byte("payload")
	nc.PublishMsg(hm)
	got := c.waitN(t, 1)[0]
	if got.Topic != "svc/x" || got.Properties == nil || got.Properties.User.Get("Trace-Id") != "abc" {
		t.Fatalf("got %s %+v", got.Topic, got.Properties)
	}
}

// An MQTT 5 device calls a NATS service with a response topic, and a NATS
// client calls an MQTT 5 responder: response topics are reply subjects.
func TestMQTT5RequestResponse(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	nc := b.nats(t)
	nc.Subscribe("svc.echo", func(m *nats.Msg) { m.Respond(append([]byte("echo:"), m.Data...)) })
	nc.Flush()
	dev := b.client5(t, "dev", nil)
	dev.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "replies/dev", QoS: 1}}})
	dev.pub(t, &paho.Publish{Topic: "svc/echo", QoS: 1, Payload: []byte("hi"), Properties: &paho.PublishProperties{ResponseTopic: "replies/dev"}})
	if r := dev.waitN(t, 1)[0]; r.Topic != "replies/dev" || string(r.Payload) != "echo:hi" {
		t.Fatalf("reply %s %q", r.Topic, r.Payload)
	}

	resp := b.client5(t, "responder", nil)
	resp.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "dev/rpc", QoS: 0}}})
	done := make(chan *nats.Msg, 1)
	go func() {
		m, err := nc.Request("dev.rpc", []byte("ping"), testTimeout)
		if err != nil {
			t.Error(err)
		}
		done <- m
	}()
	req := resp.waitN(t, 1)[0]
	if req.Properties == nil || req.Properties.ResponseTopic == "" {
		t.Fatalf("request arrived without a response topic: %+v", req.Properties)
	}
	resp.pub(t, &paho.Publish{Topic: req.Properties.ResponseTopic, QoS: 0, Payload: []byte("pong")})
	if m := <-done; m == nil || string(m.Data) != "pong" {
		t.Fatalf("NATS request got %v", m)
	}
}

// No Local, Retain As Published, Retain Handling and subscription
// identifiers.
func TestMQTT5SubscriptionOptions(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	c := b.client5(t, "opts", nil)
	other := b.client5(t, "other", nil)
	other.pub(t, &paho.Publish{Topic: "r/kept", QoS: 1, Retain: true, Payload: []byte("old")})

	c.sub(t, &paho.Subscribe{
		Properties:    &paho.SubscribeProperties{SubscriptionIdentifier: intp(7)},
		Subscriptions: []paho.SubscribeOptions{{Topic: "nl/#", QoS: 1, NoLocal: true}, {Topic: "mark", QoS: 1}},
	})
	c.pub(t, &paho.Publish{Topic: "nl/x", QoS: 1, Payload: []byte("mine")})
	other.pub(t, &paho.Publish{Topic: "nl/x", QoS: 1, Payload: []byte("theirs")})
	c.settle(t, other, "mark")
	got := c.waitN(t, 1)
	if len(got) != 1 || string(got[0].Payload) != "theirs" {
		t.Fatalf("no local: %d messages, first %q; want only theirs", len(got), got[0].Payload)
	}
	if got[0].Properties == nil || got[0].Properties.SubscriptionIdentifier == nil || *got[0].Properties.SubscriptionIdentifier != 7 {
		t.Fatalf("subscription identifier missing: %+v", got[0].Properties)
	}

	// Retain handling 2: no retained messages; 1: only for a new subscription.
	n := c.count()
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "r/#", QoS: 1, RetainHandling: 2}}})
	c.settle(t, other, "mark")
	if c.count() != n {
		t.Fatal("retain handling 2 sent retained messages")
	}
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "r/+", QoS: 1, RetainHandling: 1}}})
	if m := c.waitN(t, n+1)[n]; string(m.Payload) != "old" || !m.Retain {
		t.Fatalf("retain handling 1, new subscription: %s %q retain=%v", m.Topic, m.Payload, m.Retain)
	}
	c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "r/+", QoS: 1, RetainHandling: 1, RetainAsPublished: true}}})
	c.settle(t, other, "mark")
	if c.count() != n+1 {
		t.Fatal("retain handling 1 sent retained messages for an existing subscription")
	}
	// Retain As Published keeps the flag on a live retained publish; r/#
	// (without it) gets the same message with the flag cleared.
	other.pub(t, &paho.Publish{Topic: "r/kept", QoS: 1, Retain: true, Payload: []byte("new")})
	got = c.waitN(t, n+3)[n+1:]
	flags := map[bool]int{}
	for _, m := range got {
		flags[m.Retain]++
	}
	if flags[true] != 1 || flags[false] != 1 {
		t.Fatalf("retain as published: %d with the flag, %d without; want 1 and 1", flags[true], flags[false])
	}
}

func intp(v int) *int { return &v }

// $share/<group>/<filter> is a queue group: each message reaches one
// member; NATS queue subscribers in the same group share with them.
func TestMQTT5SharedSubscriptions(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	a := b.client5(t, "a", nil)
	c := b.client5(t, "c", nil)
	for _, cl := range []*client5{a, c} {
		cl.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$share/workers/jobs/#", QoS: 1}}})
	}
	nc := b.nats(t)
	var natsN int
	var mu sync.Mutex
	nc.QueueSubscribe("jobs.>", "workers", func(*nats.Msg) { mu.Lock(); natsN++; mu.Unlock() })
	nc.Flush()
	const total = 60
	for i := 0; i < total; i++ {
		nc.Publish("jobs.j", []byte{byte(i)})
	}
	nc.Flush()
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return a.count()+c.count()+natsN == total
	})
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if a.count()+c.count()+natsN != total {
		t.Fatalf("%d + %d + %d deliveries of %d messages", a.count(), c.count(), natsN, total)
	}
}

// Topic aliases: a topic sent once, then only its alias.
func TestMQTT5TopicAlias(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	if tam := b.l.opts.TopicAliasMaximum; tam < 1 {
		t.Fatal("no topic aliases offered")
	}
	nc := b.nats(t)
	sub, _ := nc.SubscribeSync("alias.>")
	nc.Flush()
	c := b.client5(t, "al", nil)
	if c.ack.Properties == nil || c.ack.Properties.TopicAliasMaximum == nil || *c.ack.Properties.TopicAliasMaximum == 0 {
		t.Fatalf("CONNACK does not offer topic aliases: %+v", c.ack.Properties)
	}
	c.pub(t, &paho.Publish{Topic: "alias/long/topic", QoS: 1, Payload: []byte("1"), Properties: &paho.PublishProperties{TopicAlias: u16(3)}})
	c.pub(t, &paho.Publish{Topic: "", QoS: 1, Payload: []byte("2"), Properties: &paho.PublishProperties{TopicAlias: u16(3)}})
	for _, want := range []string{"1", "2"} {
		m, err := sub.NextMsg(testTimeout)
		if err != nil || m.Subject != "alias.long.topic" || string(m.Data) != want {
			t.Fatalf("got %v %v; want alias.long.topic %s", m, err, want)
		}
	}
}

// A message whose expiry passes while its subscriber is offline is not
// delivered; one without expiry is.
func TestMQTT5MessageExpiry(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	sub := b.client5(t, "exp", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(60)}})
	sub.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "e/#", QoS: 1}}})
	sub.Disconnect(&paho.Disconnect{})
	pub := b.client5(t, "pub", nil)
	pub.pub(t, &paho.Publish{Topic: "e/short", QoS: 1, Payload: []byte("short"), Properties: &paho.PublishProperties{MessageExpiry: u32(1)}})
	pub.pub(t, &paho.Publish{Topic: "e/long", QoS: 1, Payload: []byte("long"), Properties: &paho.PublishProperties{MessageExpiry: u32(3600)}})
	time.Sleep(2100 * time.Millisecond)
	back := b.client5(t, "exp", &paho.Connect{CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(60)}})
	if !back.ack.SessionPresent {
		t.Fatal("session not present")
	}
	back.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "mark", QoS: 1}}})
	back.settle(t, pub, "mark")
	got := back.waitN(t, 1)
	if len(got) != 1 || string(got[0].Payload) != "long" {
		t.Fatalf("got %d messages, first %q; want only long", len(got), got[0].Payload)
	}
	if e := got[0].Properties.MessageExpiry; e == nil || *e > 3600 || *e < 3590 {
		t.Fatalf("remaining expiry %v", e)
	}
}

// The server sends no more unacknowledged QoS 1 messages than the client's
// Receive Maximum, and none larger than its Maximum Packet Size.
func TestMQTT5ReceiveMaximumAndPacketSize(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	nc := dialRaw(t, b)
	cp := &mqtt.Connect{Version: mqtt.V5, CleanStart: true, ClientID: []byte("rm"),
		Props: mqtt.Props{}.AddNum(mqtt.PropReceiveMaximum, 2).AddNum(mqtt.PropMaximumPacketSize, 200)}
	nc.Write(cp.Append(nil, mqtt.V5))
	if ca, ok := readPacket(t, nc, mqtt.V5).(*mqtt.Connack); !ok || ca.Code != 0 {
		t.Fatal("no CONNACK")
	}
	nc.Write((&mqtt.Subscribe{ID: 1, Topics: []mqtt.Subscription{{Filter: []byte("w/#"), Opts: 1}}}).Append(nil, mqtt.V5))
	if _, ok := readPacket(t, nc, mqtt.V5).(*mqtt.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	pub := b.client5(t, "pub", nil)
	pub.pub(t, &paho.Publish{Topic: "w/big", QoS: 1, Payload: make([]byte, 500)})
	for i := 0; i < 5; i++ {
		pub.pub(t, &paho.Publish{Topic: "w/x", QoS: 1, Payload: []byte{byte('0' + i)}})
	}
	nc.Write((&mqtt.Simple{Kind: mqtt.PINGREQ}).Append(nil, mqtt.V5))
	var ids []uint16
	for {
		p := readPacket(t, nc, mqtt.V5)
		if _, ok := p.(*mqtt.Simple); ok {
			break
		}
		pp := p.(*mqtt.Publish)
		if len(pp.Payload) != 1 {
			t.Fatalf("got a %d-byte payload past a 200-byte maximum packet size", len(pp.Payload))
		}
		ids = append(ids, pp.ID)
	}
	if len(ids) != 2 {
		t.Fatalf("%d messages in flight; want the receive maximum, 2", len(ids))
	}
	nc.Write((&mqtt.Ack{Kind: mqtt.PUBACK, ID: ids[0]}).Append(nil, mqtt.V5))
	if pp, ok := readPacket(t, nc, mqtt.V5).(*mqtt.Publish); !ok || string(pp.Payload) != "2" {
		t.Fatalf("after one PUBACK: %#v", pp)
	}
}

// An MQTT 5 request with correlation data, answered by a NATS service that
// knows nothing of MQTT, comes back on the response topic with its
// correlation data; and an MQTT 5 responder gets the correlation data and
// the response topic to answer on.
func TestMQTT5CorrelationData(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	nc := b.nats(t)
	nc.Subscribe("svc.echo", func(m *nats.Msg) { m.Respond(append([]byte("echo:"), m.Data...)) })
	nc.Flush()
	dev := b.client5(t, "dev", nil)
	dev.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "replies/dev", QoS: 1}}})
	for _, corr := range []string{"req-1", "req-2"} {
		dev.pub(t, &paho.Publish{Topic: "svc/echo", QoS: 1, Payload: []byte(corr),
			Properties: &paho.PublishProperties{ResponseTopic: "replies/dev", CorrelationData: []byte(corr)}})
	}
	got := dev.waitN(t, 2)
	for _, r := range got {
		if r.Topic != "replies/dev" || r.Properties == nil || "echo:"+string(r.Properties.CorrelationData) != string(r.Payload) {
			t.Fatalf("reply %s %q correlation %+v", r.Topic, r.Payload, r.Properties)
		}
	}

	// An MQTT 5 responder echoes the correlation data it was given.
	resp := b.client5(t, "responder", nil)
	resp.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "dev/rpc", QoS: 1}}})
	dev.pub(t, &paho.Publish{Topic: "dev/rpc", QoS: 1, Payload: []byte("ping"),
		Properties: &paho.PublishProperties{ResponseTopic: "replies/dev", CorrelationData: []byte("c-9")}})
	req := resp.waitN(t, 1)[0]
	if req.Properties == nil || string(req.Properties.CorrelationData) != "c-9" || req.Properties.ResponseTopic == "" {
		t.Fatalf("request at the responder: %+v", req.Properties)
	}
	resp.pub(t, &paho.Publish{Topic: req.Properties.ResponseTopic, QoS: 1, Payload: []byte("pong"),
		Properties: &paho.PublishProperties{CorrelationData: req.Properties.CorrelationData}})
	r := dev.waitN(t, 3)[2]
	if r.Topic != "replies/dev" || string(r.Payload) != "pong" || r.Properties == nil || string(r.Properties.CorrelationData) != "c-9" {
		t.Fatalf("reply %s %q %+v", r.Topic, r.Payload, r.Properties)
	}
}
