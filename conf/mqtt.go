package conf

import "time"

// MQTT is the MQTT 3.1.1 and 5 listener. Its clients authenticate as the
// authorization users and get the same subject permissions as NATS clients;
// their topics are subjects ("a/b" is "a.b").
type MQTT struct {
	// Host is the address the MQTT listener binds to. Default "0.0.0.0".
	Host string `toml:"host"`
	// Port is the MQTT port. Default 0: MQTT off; -1 picks a free port
	// (logged at start). MQTT clients expect 1883, or 8883 with TLS.
	Port int `toml:"port"`
	// MaxPacketSize is the largest packet a client may send, advertised to
	// MQTT 5 clients. Default 1MB; at most 256MB, the protocol's limit.
	MaxPacketSize Size `toml:"max_packet_size"`
	// MaxInflight is how many QoS 1 and 2 messages may wait for one
	// client's acknowledgement, and how many a client may have waiting for
	// ours (MQTT 5 Receive Maximum). Default 1024; 1 to 65535.
	MaxInflight int `toml:"max_inflight"`
	// MaxQueued is how many more QoS 1 and 2 messages a session holds while
	// its client is away or its window is full; newer ones are dropped.
	// Default 10000.
	MaxQueued int `toml:"max_queued"`
	// TopicAliasMaximum is how many topic aliases an MQTT 5 client may set,
	// and at most how many the server gives the topics it sends a client
	// (within the client's own maximum). Default 64; 0 to 65535.
	TopicAliasMaximum int `toml:"topic_alias_maximum"`
	// MaxSessionExpiry caps how long a persistent session outlives its
	// client (MQTT 5 Session Expiry, and every 3.1.1 session without clean
	// session). Default 0: as long as the client asks, forever for 3.1.1.
	MaxSessionExpiry Duration    `toml:"max_session_expiry"`
	TLS              ListenerTLS `toml:"tls"`
}

// ListenerTLS secures the MQTT or WebSocket listener: TLS from the first
// byte, as their clients expect. Client certificates authenticate MQTT
// clients as on the client port when tls.verify_and_map is set.
type ListenerTLS struct {
	// CertFile is the server certificate (PEM); setting it turns TLS on
	// and KeyFile is then required.
	CertFile string `toml:"cert_file"`
	// KeyFile is the private key of CertFile (PEM).
	KeyFile string `toml:"key_file"`
	// CAFile holds the CAs (PEM) client certificates are verified against.
	// Default empty: the system's roots.
	CAFile string `toml:"ca_file"`
	// Verify requires every client to present a valid certificate.
	Verify bool `toml:"verify"`
	// Timeout bounds the TLS handshake. Default 2s.
	Timeout Duration `toml:"timeout"`
}

// Enabled reports whether the MQTT listener runs.
func (m MQTT) Enabled() bool { return m.Port != 0 }

func defaultMQTT() MQTT {
	return MQTT{
		Host:              "0.0.0.0",
		MaxPacketSize:     1 * Megabyte,
		MaxInflight:       1024,
		MaxQueued:         10000,
		TopicAliasMaximum: 64,
		TLS:               ListenerTLS{Timeout: Duration(2 * time.Second)},
	}
}

func (v *checker) mqtt(c *Config) {
	m := &c.MQTT
	v.host("mqtt.host", m.Host)
	if m.Port < -1 || m.Port > 65535 {
		v.add("mqtt.port", "%d is out of range; expected -1 (a free port) or 0 to 65535", m.Port)
	}
	if m.Port > 0 && m.Port == c.Port && (m.Host == c.Host || isUnspecified(m.Host) || isUnspecified(c.Host)) {
		v.add("mqtt.port", "%d is also the client port", m.Port)
	}
	if m.Port > 0 && m.Port == c.Monitor.Port {
		v.add("mqtt.port", "%d is also the monitoring port", m.Port)
	}
	v.size("mqtt.max_packet_size", m.MaxPacketSize, 64, 256*Megabyte-1)
	if m.MaxInflight < 1 || m.MaxInflight > 65535 {
		v.add("mqtt.max_inflight", "must be 1 to 65535, got %d", m.MaxInflight)
	}
	v.atLeast("mqtt.max_queued", m.MaxQueued, 1)
	if m.TopicAliasMaximum < 0 || m.TopicAliasMaximum > 65535 {
		v.add("mqtt.topic_alias_maximum", "must be 0 to 65535, got %d", m.TopicAliasMaximum)
	}
	if m.MaxSessionExpiry < 0 {
		v.add("mqtt.max_session_expiry", "must not be negative, got %q", m.MaxSessionExpiry)
	}
	v.listenerTLS("mqtt.tls", &m.TLS)
}

func (v *checker) listenerTLS(key string, t *ListenerTLS) {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		v.add(key+".cert_file", "set without %s.key_file", key)
	case t.CertFile == "" && t.KeyFile != "":
		v.add(key+".key_file", "set without %s.cert_file", key)
	case t.CertFile == "" && (t.CAFile != "" || t.Verify):
		v.add(key+".cert_file", "needed by %s.ca_file and %s.verify", key, key)
	}
	v.positive(key+".timeout", t.Timeout)
}
