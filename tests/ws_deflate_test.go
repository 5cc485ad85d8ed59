package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

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

var wsListening = regexp.MustCompile(`listening for WebSocket clients.*? addr=([0-9.:]+)`)

// The daemon with websocket.compression = true (or nats-server's other
// spelling, compress) answers a permessage-deflate offer, and one with it
// left out does not.
func TestWebSocketCompressionConfig(t *testing.T) {
	for _, setting := range []string{"compression = true\n", "compress = true\n", ""} {
		on := setting != ""
		body := "host = \"127.0.0.1\"\nport = 0\n[websocket]\nhost = \"127.0.0.1\"\nport = -1\n" + setting
		p := startWren(t, "-c", writeFile(t, t.TempDir(), "wren.toml", body))
		var addr string
		waitUntil(t, func() error {
			m := wsListening.FindStringSubmatch(p.logText())
			if m == nil {
				return fmt.Errorf("no WebSocket address logged:\n%s", p.logText())
			}
			addr = m[1]
			return nil
		})
		c, err := net.DialTimeout("tcp", addr, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(testTimeout))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); strings.HasPrefix(got, "permessage-deflate") != on {
			t.Fatalf("%q: answered extensions %q", setting, got)
		}
	}
}

// The daemon's /metrics shows WebSocket compression per direction: how
// many messages went compressed, and their bytes on the wire and as the
// protocol saw them.
func TestWebSocketCompressionMetrics(t *testing.T) {
	d := startOps(t, t.TempDir(), "[websocket]\nhost = \"127.0.0.1\"\nport = -1\ncompression = true\n")
	var addr string
	waitUntil(t, func() error {
		m := wsListening.FindStringSubmatch(d.logText())
		if m == nil {
			return fmt.Errorf("no WebSocket address logged:\n%s", d.logText())
		}
		addr = m[1]
		return nil
	})
	wsc, err := nats.Connect("ws://"+addr, nats.Compression(true))
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	big := bytes.Repeat([]byte("temperature=21.5 humidity=40 "), 2000) // ~58 KB
	sub, _ := wsc.SubscribeSync("metrics.big")
	wsc.Publish("metrics.big", big)
	if m, err := sub.NextMsg(testTimeout); err != nil || !bytes.Equal(m.Data, big) {
		t.Fatalf("echo: %v %v", m, err)
	}
	sample := func(body, series string) float64 {
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				var f float64
				fmt.Sscan(v, &f)
				return f
			}
		}
		t.Fatalf("no %s in /metrics:\n%s", series, body)
		return 0
	}
	_, body := d.get("/metrics")
	if n := sample(body, "wren_websocket_compressed_connections_total"); n != 1 {
		t.Errorf("compressed connections %v; want 1", n)
	}
	for _, dir := range []string{"in", "out"} {
		msgs := sample(body, `wren_websocket_compressed_messages_total{direction="`+dir+`"}`)
		wire := sample(body, `wren_websocket_compressed_bytes_total{direction="`+dir+`"}`)
		raw := sample(body, `wren_websocket_uncompressed_bytes_total{direction="`+dir+`"}`)
		// The big message is in the raw bytes, and it compresses well.
		if msgs < 1 || raw < float64(len(big)) || wire <= 0 || wire*10 > raw {
			t.Errorf("%s: %v messages, %v bytes on the wire for %v; want the %d-byte message compressed", dir, msgs, wire, raw, len(big))
		}
	}
}
