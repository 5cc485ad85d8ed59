package tests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wrenmq/wren/server/leaf"
)

// A gateway's /leafz and /varz describe its link in nats-server's shape:
// beside a nats-server leaf on the same hub, every field nats-server's
// /leafz shows for its link is there with the same JSON type, /varz
// counts the link as "leafnodes", and the round trip is measured as soon
// as the link is up, not at the first ping 30s later.
func TestLeafzVarzShapeBesideNatsServer(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	lo := hubOpts(t, "leaf", "")
	lo.LeafNode = natsserver.LeafNodeOpts{Remotes: []*natsserver.RemoteLeafOpts{{URLs: []*url.URL{hubLeafURL(t, hub)}}}}
	ns := startHub(t, lo)
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}, PingInterval: time.Hour})
	gw.waitLinked(t, 1)
	waitUntil(t, func() error { return leafLinked(ns) })

	nz, err := ns.Leafz(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := leafFields(t, nz)
	wz := gw.node.Leafz(false)
	got := leafFields(t, wz)
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("/leafz: field %q (nats-server shows %v) is missing", k, v)
			continue
		}
		if fmt.Sprintf("%T", g) != fmt.Sprintf("%T", v) {
			t.Errorf("/leafz: field %q is %T (%v); nats-server's is %T (%v)", k, g, g, v, v)
		}
	}
	li := wz.Leafs[0]
	rtt, err := time.ParseDuration(li.RTT)
	if err != nil || rtt <= 0 {
		t.Errorf("/leafz rtt = %q right after connecting; want the handshake's round trip", li.RTT)
	}
	if li.IP != "127.0.0.1" || li.Port != hub.opts.LeafNode.Port {
		t.Errorf("/leafz ip:port = %s:%d; want the hub's 127.0.0.1:%d", li.IP, li.Port, hub.opts.LeafNode.Port)
	}
	if wz.NumLeafs != nz.NumLeafs {
		t.Errorf("/leafz leafnodes = %d; nats-server shows %d", wz.NumLeafs, nz.NumLeafs)
	}

	nv, err := ns.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	var nvm, wvm map[string]any
	b, _ := json.Marshal(nv)
	json.Unmarshal(b, &nvm)
	b, _ = json.Marshal(gw.srv.Varz())
	json.Unmarshal(b, &wvm)
	if nvm["leafnodes"] != float64(1) {
		t.Fatalf("nats-server's /varz leafnodes = %v; the comparison is void", nvm["leafnodes"])
	}
	if wvm["leafnodes"] != nvm["leafnodes"] {
		t.Errorf("/varz leafnodes = %v; nats-server shows %v", wvm["leafnodes"], nvm["leafnodes"])
	}
	if wvm["connections"] != float64(0) {
		t.Errorf("/varz connections = %v with only a leaf link; the link is not a client", wvm["connections"])
	}
}

// leafFields is the first link of a /leafz document as JSON fields.
func leafFields(t *testing.T, z any) map[string]any {
	t.Helper()
	b, err := json.Marshal(z)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Leafs []map[string]any `json:"leafs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Leafs) != 1 {
		t.Fatalf("/leafz %s: want one link", b)
	}
	return doc.Leafs[0]
}
