package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
	mqttl "github.com/wrenmq/wren/server/mqtt"
	"github.com/wrenmq/wren/server/websocket"
)

// wsBroker is a broker with MQTT and WebSocket listeners, in process.
type wsBroker struct {
	srv  *server.Server
	mqtt *mqttl.Listener
	ws   *websocket.Listener
}

func startWSBroker(t *testing.T, origins ...string) *wsBroker {
	t.Helper()
	srv := startCoreServer(t, server.Options{})
	ml, err := mqttl.New(srv, mqttl.Options{Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ml.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ml.Close() })
	wl := websocket.New(websocket.Options{Host: "127.0.0.1", AllowedOrigins: origins, NATS: srv.ServeWebSocket, MQTT: ml.Serve})
	if err := wl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wl.Close() })
	return &wsBroker{srv: srv, mqtt: ml, ws: wl}
}

// nats.go over ws:// and a TCP client share subjects.
func TestWebSocketNATS(t *testing.T) {
	b := startWSBroker(t)
	wsc, err := nats.Connect("ws://" + b.ws.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	tcp := connectNATS(t, b.srv)
	sub, _ := wsc.SubscribeSync("browser.>")
	wsc.Flush()
	tcp.Publish("browser.hello", []byte("from tcp"))
	if m, err := sub.NextMsg(testTimeout); err != nil || string(m.Data) != "from tcp" {
		t.Fatalf("ws subscriber: %v %v", m, err)
	}
	tsub, _ := tcp.SubscribeSync("svc.>")
	tcp.Flush()
	big := make([]byte, 200000)
	wsc.Publish("svc.big", big)
	if m, err := tsub.NextMsg(testTimeout); err != nil || len(m.Data) != len(big) {
		t.Fatalf("tcp subscriber: %v %v", m, err)
	}
	// Request/reply across both.
	tcp.Subscribe("svc.time", func(m *nats.Msg) { m.Respond([]byte("now")) })
	tcp.Flush()
	if r, err := wsc.Request("svc.time", nil, testTimeout); err != nil || string(r.Data) != "now" {
		t.Fatalf("request over ws: %v %v", r, err)
	}
}

// MQTT over WebSocket on /mqtt with paho, against NATS.
func TestWebSocketMQTT(t *testing.T) {
	b := startWSBroker(t)
	got := make(chan paho.Message, 4)
	o := paho.NewClientOptions().AddBroker("ws://" + b.ws.Addr().String() + "/mqtt").SetClientID("wsdev").
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(testTimeout)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
		t.Fatalf("connect over ws: %v", tok.Error())
	}
	defer c.Disconnect(0)
	if tok := c.Subscribe("room/+/light", 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	nc := connectNATS(t, b.srv)
	nc.Publish("room.kitchen.light", []byte("on"))
	select {
	case m := <-got:
		if m.Topic() != "room/kitchen/light" || string(m.Payload()) != "on" {
			t.Fatalf("got %s %q", m.Topic(), m.Payload())
		}
	case <-time.After(testTimeout):
		t.Fatal("no message over ws")
	}
	sub, _ := nc.SubscribeSync("room.>")
	nc.Flush()
	if tok := c.Publish("room/hall/light", 1, false, "off"); !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if m, err := sub.NextMsg(testTimeout); err != nil || m.Subject != "room.hall.light" {
		t.Fatalf("NATS got %v %v", m, err)
	}
}

// wss://: the WebSocket listener's own TLS, with the client port's TLS not
// offered on top (INFO says no TLS to the WebSocket client).
func TestWebSocketTLS(t *testing.T) {
	pki := newTestPKI(t, "ws-ca")
	// The client port requires TLS of its own; WebSocket clients are not
	// asked for it again inside wss://.
	srv := startCoreServer(t, server.Options{TLS: pki.serverConfig(false), TLSRequired: true})
	wl := websocket.New(websocket.Options{Host: "127.0.0.1", TLS: pki.serverConfig(false), NATS: srv.ServeWebSocket})
	if err := wl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wl.Close() })
	wsc, err := nats.Connect("wss://localhost:"+portOf(wl.Addr().String()), nats.RootCAs(pki.caFile), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	sub, _ := wsc.SubscribeSync("secure.>")
	wsc.Flush()
	ip := srv.InProc("test")
	defer ip.Close()
	ip.Publish("secure.x", "", nil, []byte("ok"))
	if m, err := sub.NextMsg(testTimeout); err != nil || string(m.Data) != "ok" {
		t.Fatalf("over wss: %v %v", m, err)
	}
}

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, "127.0.0.1:")
	return p
}

// /connz tells the transports apart as nats-server does: type "nats" for a
// TCP client, "websocket" for NATS over WebSocket, and "mqtt" (with
// mqtt_client) for MQTT over WebSocket.
func TestWebSocketClientsInConnz(t *testing.T) {
	b := startWSBroker(t)
	connectNATS(t, b.srv)
	wsc, err := nats.Connect("ws://" + b.ws.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	o := paho.NewClientOptions().AddBroker("ws://" + b.ws.Addr().String() + "/mqtt").SetClientID("wsdev").
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(testTimeout)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
		t.Fatalf("connect over ws: %v", tok.Error())
	}
	defer c.Disconnect(0)
	waitUntil(t, func() error {
		types := map[string]string{}
		for _, ci := range b.srv.Connz(0, 0, false).Connections {
			types[ci.Type] = ci.MQTTClient
		}
		if len(types) != 3 || types["mqtt"] != "wsdev" {
			return fmt.Errorf("/connz types %v; want nats, websocket and mqtt (wsdev)", types)
		}
		if _, ok := types["websocket"]; !ok {
			return fmt.Errorf("/connz types %v; want nats, websocket and mqtt (wsdev)", types)
		}
		return nil
	})
}
