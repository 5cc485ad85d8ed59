package main

import (
	"fmt"

	"github.com/wrenmq/wren/conf"
	mqttl "github.com/wrenmq/wren/server/mqtt"
)

// startMQTT starts the MQTT listener when mqtt.port is set. With the stream
// layer on, sessions, their QoS 1/2 messages and retained messages are kept
// in it and survive restarts; otherwise in memory.
func (d *daemon) startMQTT() error {
	m := d.cfg.MQTT
	if !m.Enabled() {
		return nil
	}
	o := mqttl.Options{
		Host:              m.Host,
		Port:              max(m.Port, 0),
		MaxPacketSize:     int(m.MaxPacketSize.Int64()),
		MaxInflight:       m.MaxInflight,
		MaxQueued:         m.MaxQueued,
		MaxPending:        int(min(d.cfg.Limits.MaxPending.Int64(), 1<<30)),
		TopicAliasMaximum: m.TopicAliasMaximum,
		MaxSessionExpiry:  m.MaxSessionExpiry.Duration(),
		ConnectTimeout:    max(d.cfg.Authorization.Timeout.Duration(), m.TLS.Timeout.Duration()),
		Logger:            d.log.With("component", "mqtt"),
	}
	if o.TopicAliasMaximum == 0 {
		o.TopicAliasMaximum = -1 // none
	}
	if t := m.TLS; t.CertFile != "" {
		tc, key, err := buildTLS(&conf.TLS{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile, Verify: t.Verify})
		if err != nil {
			return fmt.Errorf("mqtt.%s: %w", key, err)
		}
		o.TLS = tc
	}
	if d.js != nil {
		st, err := d.js.MQTTStore()
		if err != nil {
			return fmt.Errorf("mqtt: %w", err)
		}
		o.Store = st
	}
	l, err := mqttl.New(d.srv, o)
	if err != nil {
		return err
	}
	if err := l.Start(); err != nil {
		return err
	}
	d.mqtt = l
	return nil
}

// stopMQTT closes the MQTT listener before the broker stops, so sessions
// are stored as their clients leave.
func (d *daemon) stopMQTT() {
	if d.mqtt == nil {
		return
	}
	if err := d.mqtt.Close(); err != nil {
		d.log.Error("closing the MQTT listener", "error", err)
	}
	d.mqtt = nil
}
