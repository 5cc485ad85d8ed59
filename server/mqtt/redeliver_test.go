package mqtt

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/wrenmq/wren/protocol/mqtt"
)

// connect5 opens a raw MQTT 5 connection and returns it with its CONNACK.
func connect5(t *testing.T, b *testBroker, cp *mqtt.Connect) (net.Conn, *mqtt.Connack) {
	t.Helper()
	nc := dialRaw(t, b)
	cp.Version = mqtt.V5
	nc.Write(cp.Append(nil, mqtt.V5))
	ca, ok := readPacket(t, nc, mqtt.V5).(*mqtt.Connack)
	if !ok || ca.Code != 0 {
		t.Fatalf("CONNACK: %+v", ca)
	}
	return nc, ca
}

// Unacknowledged QoS 1 and 2 messages are sent again when the client
// reconnects to its session: same packet ids, DUP set; a QoS 2 message
// whose PUBREC arrived goes on with PUBREL, not a second PUBLISH.
func TestRedeliveryOnReconnect(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	expiry := mqtt.Props{}.AddNum(mqtt.PropSessionExpiry, 300)
	nc, _ := connect5(t, b, &mqtt.Connect{CleanStart: true, ClientID: []byte("rd"), Props: expiry})
	nc.Write((&mqtt.Subscribe{ID: 1, Topics: []mqtt.Subscription{{Filter: []byte("rd/#"), Opts: 2}}}).Append(nil, mqtt.V5))
	readPacket(t, nc, mqtt.V5)
	pub := b.client5(t, "pub", nil)
	pub.pub(t, &paho.Publish{Topic: "rd/1", QoS: 1, Payload: []byte("one")})
	pub.pub(t, &paho.Publish{Topic: "rd/2", QoS: 2, Payload: []byte("two")})
	first := map[string]uint16{}
	for len(first) < 2 {
		p := readPacket(t, nc, mqtt.V5).(*mqtt.Publish)
		first[string(p.Payload)] = p.ID
	}
	nc.Write((&mqtt.Ack{Kind: mqtt.PUBREC, ID: first["two"]}).Append(nil, mqtt.V5))
	if a, ok := readPacket(t, nc, mqtt.V5).(*mqtt.Ack); !ok || a.Kind != mqtt.PUBREL || a.ID != first["two"] {
		t.Fatalf("after PUBREC: %+v", a)
	}
	nc.Close()

	var nc2 net.Conn
	var ca *mqtt.Connack
	deadline := time.Now().Add(testTimeout)
	for {
		// The server may still be finishing with the first connection.
		nc2, ca = connect5(t, b, &mqtt.Connect{ClientID: []byte("rd"), Props: expiry})
		if ca.SessionPresent || time.Now().After(deadline) {
			break
		}
		nc2.Close()
	}
	if !ca.SessionPresent {
		t.Fatal("session not present after reconnecting")
	}
	p, ok := readPacket(t, nc2, mqtt.V5).(*mqtt.Publish)
	if !ok || !p.Dup || p.ID != first["one"] || string(p.Payload) != "one" {
		t.Fatalf("redelivered %+v; want DUP PUBLISH id %d", p, first["one"])
	}
	if a, ok := readPacket(t, nc2, mqtt.V5).(*mqtt.Ack); !ok || a.Kind != mqtt.PUBREL || a.ID != first["two"] {
		t.Fatalf("then %+v; want PUBREL %d", a, first["two"])
	}
	nc2.Write((&mqtt.Ack{Kind: mqtt.PUBACK, ID: first["one"]}).Append(nil, mqtt.V5))
	nc2.Write((&mqtt.Ack{Kind: mqtt.PUBCOMP, ID: first["two"]}).Append(nil, mqtt.V5))
	nc2.Write((&mqtt.Simple{Kind: mqtt.PINGREQ}).Append(nil, mqtt.V5))
	if s, ok := readPacket(t, nc2, mqtt.V5).(*mqtt.Simple); !ok || s.Kind != mqtt.PINGRESP {
		t.Fatalf("after the acks: %+v; want only PINGRESP", s)
	}
}

// MQTT 5 will delay: a client back within the delay cancels its will; one
// that stays away has it published once the delay passes.
func TestMQTT5WillDelay(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	watch := b.client5(t, "watch", nil)
	watch.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "will/#", QoS: 1}}})
	will := func(id string) *mqtt.Connect {
		return &mqtt.Connect{ClientID: []byte(id), CleanStart: true, Props: mqtt.Props{}.AddNum(mqtt.PropSessionExpiry, 60),
			Will: &mqtt.Will{QoS: 1, Topic: []byte("will/" + id), Payload: []byte(id + " gone"), Props: mqtt.Props{}.AddNum(mqtt.PropWillDelay, 1)}}
	}
	back, _ := connect5(t, b, will("back"))
	gone, _ := connect5(t, b, will("gone"))
	back.Close()
	gone.Close()
	// "back" reconnects at once, within its one-second delay.
	cp := will("back")
	cp.CleanStart = false
	connect5(t, b, cp)
	start := time.Now()
	got := watch.waitN(t, 1)
	if string(got[0].Payload) != "gone gone" {
		t.Fatalf("will: %q", got[0].Payload)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Fatal("the will came before its delay")
	}
	time.Sleep(1500 * time.Millisecond)
	if n := watch.count(); n != 1 {
		t.Fatalf("%d wills; the client that came back had its will published", n)
	}
}

// MQTT 5 session expiry: a session is kept while its expiry lasts, and
// gone after it.
func TestMQTT5SessionExpiry(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	props := mqtt.Props{}.AddNum(mqtt.PropSessionExpiry, 1)
	nc, _ := connect5(t, b, &mqtt.Connect{CleanStart: true, ClientID: []byte("se"), Props: props})
	nc.Close()
	waitFor(t, func() bool { return b.l.Stats().Connections == 0 })
	waitFor(t, func() bool { return b.l.Stats().Sessions == 0 })
	nc2, ca := connect5(t, b, &mqtt.Connect{ClientID: []byte("se"), Props: props})
	defer nc2.Close()
	if ca.SessionPresent {
		t.Fatal("session present after its expiry")
	}
}

// A wildcard in the first level does not match topics that begin with $
// [MQTT-4.7.2-1]; a filter naming the $ level does.
func TestDollarTopics(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	all := b.client5(t, "all", nil)
	all.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "#", QoS: 0}, {Topic: "+/status", QoS: 0}}})
	sys := b.client5(t, "sys", nil)
	sys.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$SYS/#", QoS: 0}}})
	nc := b.nats(t)
	nc.Publish("$SYS.status", []byte("s"))
	nc.Publish("dev.status", []byte("d"))
	nc.Flush()
	if m := sys.waitN(t, 1)[0]; m.Topic != "$SYS/status" {
		t.Fatalf("$SYS/# got %s", m.Topic)
	}
	got := all.waitN(t, 2) // dev/status through # and through +/status
	time.Sleep(100 * time.Millisecond)
	for _, m := range append(got, all.waitN(t, all.count())...) {
		if m.Topic != "dev/status" {
			t.Fatalf("# or +/status delivered %s", m.Topic)
		}
	}
}

// A client silent for one and a half times its keep alive is disconnected
// and its will published; one that pings stays.
func TestKeepAlive(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	watch := b.client5(t, "watch", nil)
	watch.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "ka/#", QoS: 1}}})
	silent, _ := connect5(t, b, &mqtt.Connect{ClientID: []byte("silent"), CleanStart: true, KeepAlive: 1,
		Will: &mqtt.Will{QoS: 1, Topic: []byte("ka/silent"), Payload: []byte("lost")}})
	pinger, _ := connect5(t, b, &mqtt.Connect{ClientID: []byte("pinger"), CleanStart: true, KeepAlive: 1,
		Will: &mqtt.Will{QoS: 1, Topic: []byte("ka/pinger"), Payload: []byte("lost")}})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
				pinger.Write((&mqtt.Simple{Kind: mqtt.PINGREQ}).Append(nil, mqtt.V5))
			}
		}
	}()
	go io.Copy(io.Discard, pinger)
	got := readAllUntilClose(t, silent)
	if len(got) < 3 || got[0] != 0xE0 || got[2] != mqtt.KeepAliveTimeout {
		t.Fatalf("silent client got % x; want DISCONNECT 0x8D", got)
	}
	if m := watch.waitN(t, 1)[0]; m.Topic != "ka/silent" {
		t.Fatalf("will of %s", m.Topic)
	}
	// Past the pinging client's keep alive too: it is still there.
	time.Sleep(1600 * time.Millisecond)
	if watch.count() != 1 {
		t.Fatal("the pinging client was disconnected too")
	}
}
