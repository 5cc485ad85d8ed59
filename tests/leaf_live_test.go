package tests

import (
	"fmt"
	"net/url"
	"testing"

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
