package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wrenmq/wren/server/leaf"
)

// A gateway configured with one node of a two-node hub cluster learns the
// other node's leaf port from the hub's INFO (leafnode_urls) and, when
// the configured node is shut down, links to the other one: messages
// cross again both ways.
func TestLeafLearnsHubURLsFromInfo(t *testing.T) {
	routePorts := []int{freePort(t), freePort(t)}
	hubs := make([]*hubServer, 2)
	for i, name := range []string{"h1", "h2"} {
		o := hubOpts(t, name, "")
		o.Cluster = natsserver.ClusterOpts{Name: "hubc", Host: "127.0.0.1", Port: routePorts[i]}
		o.Routes = []*url.URL{{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", routePorts[1-i])}}
		hubs[i] = startHub(t, o)
	}
	h1, h2 := hubs[0], hubs[1]
	h2Leaf := fmt.Sprintf("127.0.0.1:%d", h2.opts.LeafNode.Port)
	// Wait until h1 announces h2's leaf port to leaf nodes.
	waitUntil(t, func() error {
		urls, err := leafInfoURLs(h1)
		if err != nil {
			return err
		}
		for _, u := range urls {
			if u == h2Leaf {
				return nil
			}
		}
		return fmt.Errorf("h1's INFO lists leaf ports %q, not h2's %s yet", urls, h2Leaf)
	})
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, h1)}})
	gw.waitLinked(t, 1)
	if got := gw.node.Leafz(false).Leafs[0].ServerID; got != h1.ID() {
		t.Fatalf("linked to %s; want h1 %s, the configured one", got, h1.ID())
	}
	h1.Shutdown()
	waitUntil(t, func() error {
		z := gw.node.Leafz(false)
		if l := z.Leafs[0]; !l.Connected || l.ServerID != h2.ID() {
			return fmt.Errorf("link connected=%v to %s (%s); want h2 %s", l.Connected, l.ServerID, l.URL, h2.ID())
		}
		return nil
	})
	if u := gw.node.Leafz(false).Leafs[0].URL; !strings.Contains(u, h2Leaf) {
		t.Errorf("/leafz url = %q; want the learned %s", u, h2Leaf)
	}
	local := connectNATS(t, gw.srv)
	remote := connectHub(t, h2)
	up, _ := local.SubscribeSync("up.x")
	flushNATS(t, local)
	waitHubInterest(t, h2, "up.x")
	down, _ := remote.SubscribeSync("down.x")
	flushNATS(t, remote)
	waitUntil(t, func() error {
		if !hasLeafSub(gw, "down.x") {
			return fmt.Errorf("gateway has no interest from h2 in down.x")
		}
		return nil
	})
	remote.Publish("up.x", []byte("from h2"))
	if m, err := up.NextMsg(testTimeout); err != nil || string(m.Data) != "from h2" {
		t.Fatalf("gateway subscriber: %v %v", m, err)
	}
	local.Publish("down.x", []byte("from gateway"))
	if m, err := down.NextMsg(testTimeout); err != nil || string(m.Data) != "from gateway" {
		t.Fatalf("h2 subscriber: %v %v", m, err)
	}
}

// leafInfoURLs reads the leafnode_urls of the INFO a hub's leaf port
// sends.
func leafInfoURLs(h *hubServer) ([]string, error) {
	nc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", h.opts.LeafNode.Port), testTimeout)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(testTimeout))
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		return nil, err
	}
	var info struct {
		URLs []string `json:"leafnode_urls"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(line), "INFO ")), &info); err != nil {
		return nil, err
	}
	return info.URLs, nil
}
