package tests

import (
	"context"
	"fmt"
	"maps"
	"math/rand"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server/leaf"
)

// fastForward is a forward that notices trouble quickly.
var fastForward = jetstore.ForwardConfig{HubStream: "SITES", HubDomain: "hub", Window: fwdWindow,
	AckWait: 500 * time.Millisecond, RetryMin: 20 * time.Millisecond, RetryMax: 300 * time.Millisecond}

// fwdWindow is the forward's window (the default): a message lost in
// flight lands behind at most the rest of its window.
const fwdWindow = 256

// fastRemote is a remote that notices a dead link quickly.
func fastRemote(urls ...*url.URL) leaf.Remote {
	return leaf.Remote{URLs: urls, PingInterval: 250 * time.Millisecond, MaxPingsOut: 2,
		Reconnect: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, DialTimeout: time.Second}
}

// A loopback proxy between gateway and hub cuts the link, blackholes it
// both ways and drops only the hub's answers, at points drawn from a fixed
// seed, while 10,000 messages are forwarded past a 2s duplicate window:
// the hub stream holds each of those 10,000 exactly once, in order (a
// publish lost in flight while later ones of its window were stored
// follows them).
func TestForwardThroughCutsAndBlackholes(t *testing.T) {
	ho := proxiedHubOpts(t, "hub", t.TempDir())
	hub := startHub(t, ho)
	hjs := hubStream(t, hub, 1, 2*time.Second)
	proxy := startProxy(t, fmt.Sprintf("127.0.0.1:%d", ho.LeafNode.Port))
	gw := startFwdGateway(t, "gw17", t.TempDir(), fastForward,
		fastRemote(&url.URL{Scheme: "nats-leaf", Host: proxy.addr()}))
	nc := connectNATS(t, gw.srv)

	// First, once the forward is under way, the hub's answers are
	// dropped while 1,000 messages go out: stored, never acknowledged.
	waitLong(t, func() error {
		if s := gw.fwd.Status(); s.HubSyncs < 1 {
			return fmt.Errorf("forward not under way: %+v", s)
		}
		return nil
	})
	dropped := time.Now()
	proxy.mode.Store(proxyDropDown)
	publishSensors(t, nc, 0, 1000)
	// The forward notices: its ack wait runs out ("no PubAck"), or the
	// link is found stale first and the question asked on reconnect goes
	// unanswered ("did not answer") or finds no route to the hub (503).
	// Which error is the last one shown depends on scheduling, so any
	// error since the answers were dropped will do; nothing may count as
	// forwarded meanwhile, as no ack can arrive.
	seen := map[string]bool{}
	waitLong(t, func() error {
		s := gw.fwd.Status()
		if s.LastError != "" {
			seen[s.LastError] = true
		}
		at, err := time.Parse(time.RFC3339Nano, s.LastErrorTime)
		if err != nil || at.Before(dropped) {
			return fmt.Errorf("the forward shows no trouble since the hub's answers were dropped: %+v", s)
		}
		return nil
	})
	if s := gw.fwd.Status(); s.Cursor != 0 {
		t.Fatalf("the forward moved its cursor with every ack dropped: %+v", s)
	}
	t.Logf("errors shown while the hub's answers were dropped: %q", slices.Sorted(maps.Keys(seen)))
	// Then each round sets the link's trouble and publishes 1,000
	// messages into it.
	rng := rand.New(rand.NewSource(17))
	for round := 1; round < 8; round++ {
		switch rng.Intn(4) {
		case 0:
			proxy.cut()
		case 1:
			proxy.mode.Store(proxyBlackhole)
		case 2:
			proxy.mode.Store(proxyDropDown)
		case 3:
			proxy.mode.Store(proxyPass)
		}
		publishSensors(t, nc, round*1000, 1000)
		time.Sleep(time.Duration(100+rng.Intn(300)) * time.Millisecond)
	}
	// The last 2,000 go into a blackhole that outlasts the duplicate
	// window and every ack wait.
	proxy.mode.Store(proxyBlackhole)
	publishSensors(t, nc, 8000, 2000)
	time.Sleep(2500 * time.Millisecond)
	proxy.mode.Store(proxyPass)
	proxy.cut()
	checkHubHoldsDiag(t, hjs, "gw17", 10000, fwdWindow, func() string { return fmt.Sprintf("forward %+v", gw.fwd.Status()) })
	s := gw.fwd.Status()
	t.Logf("forward after the chaos: resends %d, hub syncs %d, found held %d, duplicates acked %d", s.Resends, s.HubSyncs, s.HeldFound, s.Duplicates)
	if s.HubSyncs < 2 {
		t.Fatalf("the link troubles never made the forward send again: %+v", s)
	}
}

// The hub is a three-node cluster with an R3 stream; its leader is shut
// down mid-forwarding, with publishes in flight to it lost while later
// ones reach its successor: the link fails over to another node and the
// hub stream still ends with each of the 10,000 messages exactly once, in
// order but for the lost ones, which follow the rest of their window.
func TestForwardClusterLeaderKilled(t *testing.T) {
	base := t.TempDir()
	names := []string{"n1", "n2", "n3"}
	routePorts := []int{freePort(t), freePort(t), freePort(t)}
	opts := make([]*natsserver.Options, 3)
	hubs := make([]*hubServer, 3)
	var leafURLs []*url.URL
	for i, name := range names {
		o := hubOpts(t, name, filepath.Join(base, name))
		o.Cluster = natsserver.ClusterOpts{Name: "hubc", Host: "127.0.0.1", Port: routePorts[i]}
		for j, p := range routePorts {
			if j != i {
				o.Routes = append(o.Routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
			}
		}
		opts[i] = o
	}
	for i := range opts {
		s, err := natsserver.NewServer(opts[i])
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		hubs[i] = &hubServer{s, opts[i]}
		t.Cleanup(s.Shutdown)
	}
	for i, h := range hubs {
		if !h.ReadyForConnections(testTimeout) {
			t.Fatalf("%s not ready", names[i])
		}
		leafURLs = append(leafURLs, hubLeafURL(t, h))
	}
	nc := connectHub(t, hubs[0])
	hjs, _ := jetstream.New(nc)
	// A fresh cluster elects its JetStream leader first; on a loaded
	// machine that can take longer than one testTimeout.
	for deadline := time.Now().Add(4 * testTimeout); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := hjs.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "SITES", Subjects: []string{"site.>"},
			Replicas: 3, Duplicates: 2 * time.Second})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub cluster took no R3 stream within %v: %v", 4*testTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	gw := startFwdGateway(t, "gw17", t.TempDir(), fastForward, fastRemote(leafURLs...))
	local := connectNATS(t, gw.srv)
	killed := make(chan int, 1)
	go func() {
		defer close(killed)
		// Shut the stream's leader down once forwarding is under way.
		for hubHolds(hjs, "gw17") < 2000 {
			time.Sleep(10 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		st, err := hjs.Stream(ctx, "SITES")
		if err != nil {
			return
		}
		info, err := st.Info(ctx)
		if err != nil || info.Cluster == nil {
			return
		}
		for _, h := range hubs {
			if h.Name() == info.Cluster.Leader {
				held := hubHolds(hjs, "gw17")
				h.Shutdown()
				killed <- held
			}
		}
	}()
	publishSensors(t, local, 0, 10000)
	held, ok := <-killed
	if !ok || held >= 10000 {
		t.Fatalf("the stream leader was not shut down mid-forwarding (hub held %d then)", held)
	}
	t.Logf("stream leader shut down when the hub held %d of 10000", held)
	var survivor *hubServer
	for _, h := range hubs {
		if h.Running() {
			survivor = h
			break
		}
	}
	sjs, _ := jetstream.New(connectHub(t, survivor))
	checkHubHoldsDiag(t, sjs, "gw17", 10000, fwdWindow, func() string {
		return fmt.Sprintf("forward %+v; links %+v", gw.fwd.Status(), gw.node.Leafz(false).Leafs)
	})
	s := gw.fwd.Status()
	t.Logf("forward after the failover: resends %d, hub syncs %d, found held %d, duplicates acked %d", s.Resends, s.HubSyncs, s.HeldFound, s.Duplicates)
}

// The local stream bounds what waits during an outage: with max_msgs 100
// and 300 published while the hub is unreachable, the forward counts the
// 200 the stream let go and the hub gets exactly the newest 100.
func TestForwardOutageBoundedByLocalStream(t *testing.T) {
	ho := proxiedHubOpts(t, "hub", t.TempDir())
	hub := startHub(t, ho)
	hjs := hubStream(t, hub, 1, 2*time.Second)
	proxy := startProxy(t, fmt.Sprintf("127.0.0.1:%d", ho.LeafNode.Port))
	proxy.mode.Store(proxyRefuse)
	gw := startFwdGateway(t, "gw17", t.TempDir(), fastForward,
		fastRemote(&url.URL{Scheme: "nats-leaf", Host: proxy.addr()}))
	nc := connectNATS(t, gw.srv)
	ljs, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := ljs.UpdateStream(ctx, jetstream.StreamConfig{Name: "SENSORS", Subjects: []string{"sensors.>"}, MaxMsgs: 100}); err != nil {
		t.Fatal(err)
	}
	publishSensors(t, nc, 0, 300)
	proxy.mode.Store(proxyPass)
	waitUntil(t, func() error {
		if s := gw.fwd.Status(); s.Cursor != 300 || s.Dropped != 200 || s.Forwarded != 100 {
			return fmt.Errorf("forward %+v", s)
		}
		return nil
	})
	if n := hubHolds(hjs, "gw17"); n != 100 {
		t.Fatalf("hub holds %d, want the newest 100", n)
	}
	st, _ := hjs.Stream(ctx, "SITES")
	first, err := st.GetMsg(ctx, 1)
	if err != nil || string(first.Data) != "200" {
		t.Fatalf("hub's first message %v %q; want the 201st published", err, dataOfRaw(first))
	}
}

// waitLong is waitUntil with four times its deadline, for a link and a
// forward that go through several timeouts of their own on the way (a
// stale link found, a reconnect, an ack wait) on a loaded machine.
func waitLong(t testing.TB, cond func() error) {
	t.Helper()
	if err := poll(4*testTimeout, cond); err != nil {
		t.Fatalf("gave up waiting after %v: %v", 4*testTimeout, err)
	}
}
