package tests

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/leaf"
)

// hubOpts are the options of an embedded nats-server hub: a client port
// and a leaf port on 127.0.0.1, JetStream in domain "hub" when dir is set.
func hubOpts(t testing.TB, name, dir string) *natsserver.Options {
	t.Helper()
	o := &natsserver.Options{
		ServerName: name,
		Host:       "127.0.0.1",
		Port:       -1,
		NoLog:      true,
		NoSigs:     true,
		LeafNode:   natsserver.LeafNodeOpts{Host: "127.0.0.1", Port: -1},
	}
	if dir != "" {
		o.JetStream = true
		o.JetStreamDomain = "hub"
		o.StoreDir = dir
	}
	return o
}

// proxiedHubOpts is hubOpts for a hub reached only through a tcpProxy:
// it announces no leafnode_urls, which would name its own leaf port, so a
// gateway reconnecting after a fault the proxy made cannot learn that
// port and go around the proxy (and its faults) to the hub.
func proxiedHubOpts(t testing.TB, name, dir string) *natsserver.Options {
	o := hubOpts(t, name, dir)
	o.LeafNode.NoAdvertise = true
	return o
}

// hubServer is an embedded nats-server and the options it runs with
// (where it writes the ports it picked).
type hubServer struct {
	*natsserver.Server
	opts *natsserver.Options
}

// startHub starts a nats-server with o, shut down when the test ends.
func startHub(t testing.TB, o *natsserver.Options) *hubServer {
	t.Helper()
	s, err := natsserver.NewServer(o)
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(testTimeout) {
		t.Fatalf("nats-server %s not ready", o.ServerName)
	}
	t.Cleanup(s.Shutdown)
	return &hubServer{s, o}
}

// hubLeafURL is the hub's leaf port as a remote URL.
func hubLeafURL(t testing.TB, hub *hubServer) *url.URL {
	t.Helper()
	return &url.URL{Scheme: "nats-leaf", Host: fmt.Sprintf("127.0.0.1:%d", hub.opts.LeafNode.Port)}
}

// gateway is a Wren broker with leaf links.
type gateway struct {
	srv  *server.Server
	node *leaf.Node

	mu     sync.Mutex
	onLink []func() // run each time a link is up, as the daemon kicks its forwards
}

// linkUp runs what waits for a link to come up.
func (g *gateway) linkUp() {
	g.mu.Lock()
	fs := append([]func(){}, g.onLink...)
	g.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// startGateway starts a Wren broker named name whose links dial remotes.
func startGateway(t testing.TB, name string, remotes ...leaf.Remote) *gateway {
	t.Helper()
	return startGatewayWith(t, name, nil, remotes...)
}

// startGatewayWith is startGateway with a hook run after the broker is
// made and before it starts (where the stream layer attaches).
func startGatewayWith(t testing.TB, name string, before func(*gateway), remotes ...leaf.Remote) *gateway {
	t.Helper()
	s, err := server.New(server.Options{Host: "127.0.0.1", Port: 0, ServerName: name})
	if err != nil {
		t.Fatal(err)
	}
	s.TrackInterest()
	if before != nil {
		before(&gateway{srv: s})
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range remotes {
		if remotes[i].Reconnect == 0 {
			remotes[i].Reconnect = 50 * time.Millisecond
			remotes[i].ReconnectMax = 500 * time.Millisecond
		}
	}
	g := &gateway{srv: s}
	n := leaf.New(s, leaf.Options{Name: name, Remotes: remotes, OnConnect: g.linkUp})
	g.node = n
	n.Start()
	t.Cleanup(func() {
		n.Close()
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		s.Shutdown(ctx)
	})
	return g
}

// waitLinked waits until the gateway has n links up.
func (g *gateway) waitLinked(t testing.TB, n int) {
	t.Helper()
	waitUntil(t, func() error {
		if c := g.node.Connected(); c != n {
			return fmt.Errorf("%d links up, want %d", c, n)
		}
		return nil
	})
}

// connectHub connects a nats.go client to a hub.
func connectHub(t testing.TB, hub *hubServer, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{nats.Timeout(testTimeout)}, opts...)
	nc, err := nats.Connect(hub.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect to hub: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// waitHubInterest waits until the hub routes subject to a leaf.
func waitHubInterest(t testing.TB, hub *hubServer, subject string) {
	t.Helper()
	waitHubInterestFunc(t, hub, subject, func(s string) bool { return s == subject })
}

// waitHubForwarder waits until the hub routes a forwarder's acks to a leaf.
func waitHubForwarder(t testing.TB, hub *hubServer) {
	t.Helper()
	waitHubInterestFunc(t, hub, "_INBOX.fwd.", func(s string) bool { return strings.HasPrefix(s, "_INBOX.fwd.") })
}

func waitHubInterestFunc(t testing.TB, hub *hubServer, subject string, match func(string) bool) {
	t.Helper()
	waitUntil(t, func() error {
		lz, err := hub.Leafz(&natsserver.LeafzOptions{Subscriptions: true})
		if err != nil {
			return err
		}
		var all []string
		for _, l := range lz.Leafs {
			for _, s := range l.Subs {
				if match(s) {
					return nil
				}
				all = append(all, s)
			}
		}
		return fmt.Errorf("hub has no leaf interest in %q: %q", subject, all)
	})
}
