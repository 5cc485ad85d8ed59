package conf

import "testing"

// websocket.compression takes nats-server's other spelling, compress.
func TestWebSocketCompressionSpellings(t *testing.T) {
	for _, doc := range []string{"[websocket]\ncompression = true\n", "[websocket]\ncompress = true\n", "websocket = { compress = true }\n"} {
		c, err := Parse("wren.toml", []byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if !c.WebSocket.Compression {
			t.Errorf("%q: compression off", doc)
		}
	}
}
