package tests

import (
	"bytes"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/websocket"
)

// nats.go with compression on negotiates permessage-deflate with a
// listener that has it on, and large and small messages cross both ways
// intact, compressed.
func TestWebSocketNATSCompressed(t *testing.T) {
	srv := startCoreServer(t, server.Options{})
	wl := websocket.New(websocket.Options{Host: "127.0.0.1", Compression: true, MaxMessage: 2<<20 + 64<<10, NATS: srv.ServeWebSocket})
	if err := wl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wl.Close() })
	wsc, err := nats.Connect("ws://"+wl.Addr().String(), nats.Compression(true))
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	tcp := connectNATS(t, srv)

	big := bytes.Repeat([]byte("temperature=21.5 humidity=40 "), 7000) // ~200 KB
	sub, _ := wsc.SubscribeSync("down.>")
	wsc.Flush()
	tcp.Publish("down.big", big)
	tcp.Publish("down.small", []byte("x"))
	for _, want := range [][]byte{big, []byte("x")} {
		if m, err := sub.NextMsg(testTimeout); err != nil || !bytes.Equal(m.Data, want) {
			t.Fatalf("ws subscriber: %v %v", m, err)
		}
	}
	tsub, _ := tcp.SubscribeSync("up.>")
	tcp.Flush()
	wsc.Publish("up.big", big)
	wsc.Publish("up.small", []byte("y"))
	for _, want := range [][]byte{big, []byte("y")} {
		if m, err := tsub.NextMsg(testTimeout); err != nil || !bytes.Equal(m.Data, want) {
			t.Fatalf("tcp subscriber: %v %v", m, err)
		}
	}
	if s := wl.Stats(); s.CompressedConns != 1 || s.Inflated == 0 || s.Deflated == 0 {
		t.Fatalf("compression stats %+v; want 1 connection with messages compressed both ways", s)
	}
}
