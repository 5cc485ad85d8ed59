package conf

import (
	"net/url"
	"strings"
	"time"
)

// WebSocket is the WebSocket listener: browsers speak the NATS protocol on
// it (nats.ws, @nats-io/nats-core wsconnect), and MQTT clients MQTT on
// /mqtt (subprotocol "mqtt") when [mqtt] is on.
type WebSocket struct {
	// Host is the address the WebSocket listener binds to. Default
	// "0.0.0.0".
	Host string `toml:"host"`
	// Port is the WebSocket port. Default 0: off; -1 picks a free port
	// (logged at start). nats-server operators often pick 8080 or 443.
	Port int `toml:"port"`
	// AllowedOrigins lists the origins ("https://app.example.com") whose
	// pages may connect; others are refused with 403. Default empty: any
	// origin.
	AllowedOrigins []string `toml:"allowed_origins"`
	// Compression accepts permessage-deflate (RFC 7692) from clients that
	// offer it, as browsers do: messages are compressed both ways, without
	// context takeover. Default false, as in nats-server, which also
	// reads it as compress.
	Compression bool        `toml:"compression" alias:"compress"`
	TLS         ListenerTLS `toml:"tls"`
}

// Enabled reports whether the WebSocket listener runs.
func (w WebSocket) Enabled() bool { return w.Port != 0 }

func defaultWebSocket() WebSocket {
	return WebSocket{Host: "0.0.0.0", TLS: ListenerTLS{Timeout: Duration(2 * time.Second)}}
}

func (v *checker) websocket(c *Config) {
	w := &c.WebSocket
	v.host("websocket.host", w.Host)
	if w.Port < -1 || w.Port > 65535 {
		v.add("websocket.port", "%d is out of range; expected -1 (a free port) or 0 to 65535", w.Port)
	}
	for _, p := range []struct {
		name string
		port int
	}{{"the client port", c.Port}, {"the monitoring port", c.Monitor.Port}, {"mqtt.port", c.MQTT.Port}} {
		if w.Port > 0 && w.Port == p.port {
			v.add("websocket.port", "%d is also %s", w.Port, p.name)
		}
	}
	for _, o := range w.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			v.add("websocket.allowed_origins", "%q is not an origin such as \"https://app.example.com\"", o)
		}
	}
	v.listenerTLS("websocket.tls", &w.TLS)
}
