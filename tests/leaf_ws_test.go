package tests

import (
	"fmt"
	"net/url"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wrenmq/wren/server/leaf"
)

// A remote with a ws:// URL links to the hub's websocket port (nats-server
// websocket with leaf node support): messages cross both ways, and S2
// compression is negotiated over it as over TCP.
func TestLeafOverWebSocket(t *testing.T) {
	for _, mode := range []string{"off", "s2_fast"} {
		t.Run(mode, func(t *testing.T) {
			o := hubOpts(t, "hub", "")
			o.Websocket = natsserver.WebsocketOpts{Host: "127.0.0.1", Port: -1, NoTLS: true}
			o.LeafNode.Compression = natsserver.CompressionOpts{Mode: "accept"}
			hub := startHub(t, o)
			u := &url.URL{Scheme: "ws", Host: fmt.Sprintf("127.0.0.1:%d", o.Websocket.Port)}
			gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{u}, Compression: mode})
			gw.waitLinked(t, 1)
			lz, err := hub.Leafz(nil)
			if err != nil || len(lz.Leafs) != 1 {
				t.Fatalf("hub /leafz: %v %+v", err, lz)
			}
			if got := gw.node.Leafz(false).Leafs[0].Compression; got != mode {
				t.Errorf("gateway shows compression %q; want %q", got, mode)
			}
			local := connectNATS(t, gw.srv)
			remote := connectHub(t, hub)
			up, _ := local.SubscribeSync("up.x")
			flushNATS(t, local)
			waitHubInterest(t, hub, "up.x")
			down, _ := remote.SubscribeSync("down.x")
			flushNATS(t, remote)
			waitUntil(t, func() error {
				if !hasLeafSub(gw, "down.x") {
					return fmt.Errorf("gateway has no hub interest in down.x")
				}
				return nil
			})
			for i := 0; i < 200; i++ {
				remote.Publish("up.x", telemetry(i))
				local.Publish("down.x", telemetry(i))
			}
			for i := 0; i < 200; i++ {
				if m, err := up.NextMsg(testTimeout); err != nil || string(m.Data) != string(telemetry(i)) {
					t.Fatalf("gateway subscriber, message %d: %v %q", i, err, dataOf(m))
				}
				if m, err := down.NextMsg(testTimeout); err != nil || string(m.Data) != string(telemetry(i)) {
					t.Fatalf("hub subscriber, message %d: %v %q", i, err, dataOf(m))
				}
			}
		})
	}
}
