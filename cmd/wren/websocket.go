package main

import (
	"fmt"

	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/websocket"
)

// startWebSocket starts the WebSocket listener when websocket.port is set:
// the NATS protocol for browsers, and MQTT on /mqtt when the MQTT listener
// runs.
func (d *daemon) startWebSocket() error {
	w := d.cfg.WebSocket
	if !w.Enabled() {
		return nil
	}
	o := websocket.Options{
		Host:           w.Host,
		Port:           max(w.Port, 0),
		AllowedOrigins: w.AllowedOrigins,
		Compression:    w.Compression,
		// A compressed message carries protocol lines and may batch a
		// few messages; max_payload bounds each one again above.
		MaxMessage:       2*d.cfg.Limits.MaxPayload.Int64() + 64<<10,
		HandshakeTimeout: max(w.TLS.Timeout.Duration(), d.cfg.Authorization.Timeout.Duration()),
		NATS:             d.srv.ServeWebSocket,
		Logger:           d.log.With("component", "websocket"),
	}
	if d.mqtt != nil {
		o.MQTT = d.mqtt.Serve
	}
	if t := w.TLS; t.CertFile != "" {
		tc, key, err := buildTLS(&conf.TLS{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile, Verify: t.Verify})
		if err != nil {
			return fmt.Errorf("websocket.%s: %w", key, err)
		}
		o.TLS = tc
	}
	l := websocket.New(o)
	if err := l.Start(); err != nil {
		return err
	}
	d.ws = l
	if w.Compression {
		d.srv.AddMetrics("websocket", websocketMetrics(l))
	}
	return nil
}

// websocketMetrics writes the compression counters: per direction, the
// messages that went compressed and their bytes on the wire and as the
// protocol saw them.
func websocketMetrics(l *websocket.Listener) func(*server.PromWriter) {
	return func(w *server.PromWriter) {
		st := l.Stats()
		w.One("wren_websocket_compressed_connections_total", server.PromCounter,
			"WebSocket connections that negotiated permessage-deflate.", float64(st.CompressedConns))
		fam := func(name, help string, in, out uint64) {
			w.Family(name, server.PromCounter, help)
			w.Sample(name, float64(in), "direction", "in")
			w.Sample(name, float64(out), "direction", "out")
		}
		fam("wren_websocket_compressed_messages_total", "WebSocket messages received (in) and sent (out) compressed.", st.Inflated, st.Deflated)
		fam("wren_websocket_compressed_bytes_total", "Bytes of the compressed WebSocket messages as they crossed the wire.", st.InCompressed, st.OutCompressed)
		fam("wren_websocket_uncompressed_bytes_total", "Bytes of the compressed WebSocket messages inflated (in) or before deflate (out).", st.InInflated, st.OutRaw)
	}
}

// stopWebSocket stops accepting WebSocket connections; those open close
// with the broker and the MQTT listener.
func (d *daemon) stopWebSocket() {
	if d.ws != nil {
		d.ws.Close()
		d.ws = nil
	}
}
