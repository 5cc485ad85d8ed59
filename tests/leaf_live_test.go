package tests

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server/leaf"
)

// A message published on either side reaches subscribers on the other,
// headers included, and the hub's /leafz shows the gateway by name.
func TestLeafPubSubBothWays(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	gw.waitLinked(t, 1)

	local := connectNATS(t, gw.srv)
	remote := connectHub(t, hub)

	up, _ := local.SubscribeSync("up.>")
	flushNATS(t, local)
	down, _ := remote.SubscribeSync("down.*")
	flushNATS(t, remote)
	waitHubInterest(t, hub, "up.>")
	waitUntil(t, func() error {
		if !hasLeafSub(gw, "down.*") {
			return fmt.Errorf("gateway has no hub interest in down.*")
		}
		return nil
	})

	m := nats.NewMsg("up.a.b")
	m.Header.Set("K", "v")
	m.Data = []byte("from hub")
	if err := remote.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	got, err := up.NextMsg(testTimeout)
	if err != nil {
		t.Fatalf("gateway subscriber: %v", err)
	}
	if string(got.Data) != "from hub" || got.Header.Get("K") != "v" || got.Subject != "up.a.b" {
		t.Fatalf("gateway got %q %q %v", got.Subject, got.Data, got.Header)
	}
	if err := local.Publish("down.x", []byte("from gateway")); err != nil {
		t.Fatal(err)
	}
	got, err = down.NextMsg(testTimeout)
	if err != nil {
		t.Fatalf("hub subscriber: %v", err)
	}
	if string(got.Data) != "from gateway" {
		t.Fatalf("hub got %q", got.Data)
	}
	lz, _ := hub.Leafz(nil)
	if len(lz.Leafs) != 1 || lz.Leafs[0].Name != "gw17" {
		t.Fatalf("hub /leafz: %+v", lz.Leafs)
	}
	// No echo: the gateway's own message is not sent back to it.
	flushNATS(t, local, remote)
	if n, _, _ := up.Pending(); n != 0 {
		t.Fatalf("gateway subscriber got %d more messages", n)
	}
}

func hasLeafSub(g *gateway, subject string) bool {
	for _, l := range g.node.Leafz(true).Leafs {
		for _, s := range l.Subs {
			if s == subject {
				return true
			}
		}
	}
	return false
}

// A nats.go client on the hub requests a service on the gateway and one on
// the gateway requests a service on the hub; with nobody serving, both get
// no-responders.
func TestLeafRequestReplyBothWays(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	gw.waitLinked(t, 1)
	local := connectNATS(t, gw.srv)
	remote := connectHub(t, hub)

	local.Subscribe("svc.gateway", func(m *nats.Msg) { m.Respond(append([]byte("gw:"), m.Data...)) })
	remote.Subscribe("svc.hub", func(m *nats.Msg) { m.Respond(append([]byte("hub:"), m.Data...)) })
	flushNATS(t, local, remote)
	waitHubInterest(t, hub, "svc.gateway")
	waitUntil(t, func() error {
		if !hasLeafSub(gw, "svc.hub") {
			return fmt.Errorf("gateway has no hub interest in svc.hub")
		}
		return nil
	})
	for i := 0; i < 20; i++ {
		r, err := remote.Request("svc.gateway", []byte(fmt.Sprint(i)), testTimeout)
		if err != nil || string(r.Data) != fmt.Sprintf("gw:%d", i) {
			t.Fatalf("hub → gateway request %d: %v %q", i, err, dataOf(r))
		}
		r, err = local.Request("svc.hub", []byte(fmt.Sprint(i)), testTimeout)
		if err != nil || string(r.Data) != fmt.Sprintf("hub:%d", i) {
			t.Fatalf("gateway → hub request %d: %v %q", i, err, dataOf(r))
		}
	}
	if _, err := local.Request("svc.nobody", nil, testTimeout); err != nats.ErrNoResponders {
		t.Fatalf("gateway request to nobody: %v, want no responders", err)
	}
	if _, err := remote.Request("svc.nobody", nil, testTimeout); err != nats.ErrNoResponders {
		t.Fatalf("hub request to nobody: %v, want no responders", err)
	}
}

func dataOf(m *nats.Msg) []byte {
	if m == nil {
		return nil
	}
	return m.Data
}

// A queue group with members on both sides gets each message exactly
// once, whichever side publishes; a side with members keeps its own
// messages (local members preferred), and a side without members hands
// them over the link.
func TestLeafQueueGroupsExactlyOnce(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	gw.waitLinked(t, 1)
	local := connectNATS(t, gw.srv)
	remote := connectHub(t, hub)
	pubGW := connectNATS(t, gw.srv)
	pubHub := connectHub(t, hub)

	type counter struct {
		mu   sync.Mutex
		seen map[string]int
		side map[string]int
	}
	c := &counter{seen: map[string]int{}, side: map[string]int{}}
	member := func(nc *nats.Conn, side, subj string) {
		t.Helper()
		if _, err := nc.QueueSubscribe(subj, "workers", func(m *nats.Msg) {
			c.mu.Lock()
			c.seen[string(m.Data)]++
			c.side[side]++
			c.mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	// work.both: two members on each side.
	member(local, "gw", "work.both")
	member(local, "gw", "work.both")
	member(remote, "hub", "work.both")
	member(remote, "hub", "work.both")
	// work.gw: members only on the gateway; work.hub: only on the hub.
	member(local, "gw", "work.gw")
	member(local, "gw", "work.gw")
	member(remote, "hub", "work.hub")
	flushNATS(t, local, remote)
	waitHubInterest(t, hub, "work.gw")
	waitUntil(t, func() error {
		if !hasLeafSub(gw, "work.hub workers 1") {
			return fmt.Errorf("gateway has no hub interest in work.hub workers")
		}
		return nil
	})

	const n = 200
	pub := func(nc *nats.Conn, subj, tag string) {
		for i := 0; i < n; i++ {
			if err := nc.Publish(subj, []byte(fmt.Sprintf("%s-%d", tag, i))); err != nil {
				t.Fatal(err)
			}
		}
		flushNATS(t, nc)
	}
	pub(pubGW, "work.both", "gwboth")
	pub(pubHub, "work.both", "hubboth")
	pub(pubHub, "work.gw", "hubtogw")
	pub(pubGW, "work.hub", "gwtohub")
	waitUntil(t, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.seen) != 4*n {
			return fmt.Errorf("%d distinct messages delivered, want %d", len(c.seen), 4*n)
		}
		return nil
	})
	flushNATS(t, local, remote, pubGW, pubHub)
	time.Sleep(100 * time.Millisecond) // let any duplicate arrive
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.seen {
		if v != 1 {
			t.Fatalf("message %s delivered %d times", k, v)
		}
	}
	// Each side's own publishes on work.both stayed with its own members,
	// and the others crossed: gw got gwboth+hubtogw, hub hubboth+gwtohub.
	if c.side["gw"] != 2*n || c.side["hub"] != 2*n {
		t.Fatalf("deliveries per side: %v, want %d each", c.side, 2*n)
	}
}

// Two gateways on one hub exchange messages with no loop and no echo:
// each subscriber gets each message exactly once.
func TestLeafTwoGatewaysNoLoopNoEcho(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	u := hubLeafURL(t, hub)
	gw1 := startGateway(t, "gw1", leaf.Remote{URLs: []*url.URL{u}})
	gw2 := startGateway(t, "gw2", leaf.Remote{URLs: []*url.URL{u}})
	gw1.waitLinked(t, 1)
	gw2.waitLinked(t, 1)
	c1 := connectNATS(t, gw1.srv)
	c2 := connectNATS(t, gw2.srv)
	ch := connectHub(t, hub)
	s1, _ := c1.SubscribeSync("fleet.>")
	s2, _ := c2.SubscribeSync("fleet.>")
	sh, _ := ch.SubscribeSync("fleet.>")
	flushNATS(t, c1, c2, ch)
	waitUntil(t, func() error {
		lz, err := hub.Leafz(&natsserver.LeafzOptions{Subscriptions: true})
		if err != nil {
			return err
		}
		n := 0
		for _, l := range lz.Leafs {
			for _, s := range l.Subs {
				if s == "fleet.>" {
					n++
				}
			}
		}
		if n != 2 {
			return fmt.Errorf("%d gateways' interest in fleet.> reached the hub, want 2", n)
		}
		for _, g := range []*gateway{gw1, gw2} {
			if !hasLeafSub(g, "fleet.>") {
				return fmt.Errorf("%s has no hub interest in fleet.>", g.srv.ID())
			}
		}
		return nil
	})
	const n = 100
	for i := 0; i < n; i++ {
		c1.Publish("fleet.gw1", []byte(fmt.Sprint(i)))
		c2.Publish("fleet.gw2", []byte(fmt.Sprint(i)))
	}
	flushNATS(t, c1, c2)
	for _, s := range []*nats.Subscription{s1, s2, sh} {
		got := map[string]int{}
		for i := 0; i < 2*n; i++ {
			m, err := s.NextMsg(testTimeout)
			if err != nil {
				t.Fatalf("%d of %d messages: %v", i, 2*n, err)
			}
			got[m.Subject+"/"+string(m.Data)]++
		}
		for k, v := range got {
			if v != 1 {
				t.Fatalf("%s delivered %d times", k, v)
			}
		}
	}
	// Nothing more: no message came back around.
	flushNATS(t, c1, c2, ch)
	time.Sleep(100 * time.Millisecond)
	for _, s := range []*nats.Subscription{s1, s2, sh} {
		if n, _, _ := s.Pending(); n != 0 {
			t.Fatalf("%d extra messages", n)
		}
	}
}

// With the first URL dead, the link uses the next; a gateway linked twice
// to the same hub has its second link refused as a loop.
func TestLeafFailoverAndLoopDetection(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	dead := &url.URL{Scheme: "nats-leaf", Host: freeAddr(t)}
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{dead, hubLeafURL(t, hub)}})
	gw.waitLinked(t, 1)

	twice := startGateway(t, "gw-twice",
		leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}},
		leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	// The link that gives way reports the loop and stays down for the
	// loop delay; the other stays up (or comes back at once should its
	// own handshake have been cut short on a loaded machine), so the
	// gateway settles on one link up and one reporting the loop.
	waitUntil(t, func() error {
		leafs := twice.node.Leafz(false).Leafs
		up, looped := 0, 0
		for _, l := range leafs {
			if l.Connected {
				up++
			} else if strings.Contains(l.LastError, "Loop detected") {
				looped++
			}
		}
		if up != 1 || looped != 1 {
			return fmt.Errorf("%d links up and %d reporting a loop, want 1 and 1: %+v", up, looped, leafs)
		}
		return nil
	})
	if n := twice.node.Connected(); n != 1 {
		t.Fatalf("%d links up, want 1", n)
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// A message larger than the hub's max_payload is held back (the hub would
// close the link for it) and counted; the link stays up for the rest.
func TestLeafOverHubMaxPayload(t *testing.T) {
	o := hubOpts(t, "hub", "")
	o.MaxPayload = 1024
	hub := startHub(t, o)
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	gw.waitLinked(t, 1)
	local := connectNATS(t, gw.srv)
	remote := connectHub(t, hub)
	sub, _ := remote.SubscribeSync("big.>")
	flushNATS(t, remote)
	waitUntil(t, func() error {
		if !hasLeafSub(gw, "big.>") {
			return fmt.Errorf("gateway has no hub interest in big.>")
		}
		return nil
	})
	local.Publish("big.one", make([]byte, 2000))
	local.Publish("big.two", []byte("small"))
	flushNATS(t, local)
	m, err := sub.NextMsg(testTimeout)
	if err != nil || m.Subject != "big.two" {
		t.Fatalf("hub got %v %v; want big.two", m, err)
	}
	lz := gw.node.Leafz(false).Leafs[0]
	if !lz.Connected || lz.OverMaxPayload != 1 || lz.Reconnects != 0 {
		t.Fatalf("link after the big message: %+v", lz)
	}
}
