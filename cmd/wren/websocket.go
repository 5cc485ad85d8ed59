package main

import (
	"fmt"

	"github.com/wrenmq/wren/conf"
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
	return nil
}

// stopWebSocket stops accepting WebSocket connections; those open close
// with the broker and the MQTT listener.
func (d *daemon) stopWebSocket() {
	if d.ws != nil {
		d.ws.Close()
		d.ws = nil
	}
}
