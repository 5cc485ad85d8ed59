//go:build linux

package mqtt

import (
	"testing"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
)

// waitParked waits until the connections of the client ids are parked.
func waitParked(t *testing.T, b *testBroker, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout + idleGrace)
	for {
		parked := map[string]bool{}
		b.l.idle.mu.Lock()
		for _, c := range b.l.idle.parked {
			parked[c.cid] = true
		}
		b.l.idle.mu.Unlock()
		all := true
		for _, id := range ids {
			all = all && parked[id]
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections %v not parked (parked: %v)", ids, parked)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A quiet connection that gave up its goroutine still does everything a
// connection does: what it sends is read, what it is sent arrives, closing
// its socket publishes its will, and a takeover disconnects it.
func TestParkedConnections(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	nc := b.nats(t)
	wills, err := nc.SubscribeSync("park.will")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	a := rawConnect(t, b, "a", "", "")
	a.Write((&mqtt.Subscribe{ID: 1, Topics: []mqtt.Subscription{{Filter: []byte("park/#")}}}).Append(nil, mqtt.V311))
	if _, ok := readPacket(t, a, mqtt.V311).(*mqtt.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	w := rawConnect(t, b, "w", "park/will", "gone")
	waitParked(t, b, "a", "w")

	// It reads: its own publish comes back to it.
	a.Write((&mqtt.Publish{Topic: []byte("park/self"), Payload: []byte("one")}).Append(nil, mqtt.V311))
	if p, ok := readPacket(t, a, mqtt.V311).(*mqtt.Publish); !ok || string(p.Payload) != "one" {
		t.Fatalf("got %#v; want its own publish", p)
	}
	waitParked(t, b, "a")

	// It is written to while parked.
	nc.Publish("park.nats", []byte("two"))
	if p, ok := readPacket(t, a, mqtt.V311).(*mqtt.Publish); !ok || string(p.Payload) != "two" {
		t.Fatalf("got %#v; want the NATS message", p)
	}

	// Its client going away is noticed: the will is published.
	w.Close()
	if m, err := wills.NextMsg(testTimeout); err != nil || string(m.Data) != "gone" {
		t.Fatalf("will: %v %v", m, err)
	}

	// A takeover disconnects it.
	waitParked(t, b, "a")
	rawConnect(t, b, "a", "", "")
	readAllUntilClose(t, a)
	deadline := time.Now().Add(testTimeout)
	for b.l.Stats().Connections != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections; want 1 (the new one)", b.l.Stats().Connections)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
