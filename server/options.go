package server

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/wrenmq/wren/auth"
)

// Defaults, the same as the reference server's.
const (
	DefaultPort           = 4222
	DefaultMaxPayload     = 1 << 20
	MaxPayloadLimit       = 8 << 20
	DefaultMaxControlLine = 4096
	DefaultMaxConnections = 64 * 1024
	DefaultMaxPending     = 64 << 20
	DefaultPingInterval   = 2 * time.Minute
	DefaultMaxPingsOut    = 2
	DefaultWriteDeadline  = 10 * time.Second
	DefaultAuthTimeout    = 2 * time.Second
)

// Options configure a Server. Zero values take the defaults above, except
// Port, where 0 picks a free port (use DefaultPort for the usual 4222).
type Options struct {
	Host       string
	Port       int
	ServerName string
	// ClientAdvertise is "host" or "host:port" sent to clients in INFO's
	// connect_urls instead of the listen address (a server behind NAT).
	ClientAdvertise string

	MaxPayload       int
	MaxControlLine   int
	MaxConnections   int
	MaxSubscriptions int   // per connection; 0 is unlimited
	MaxPending       int64 // bytes queued for one connection before it is cut as a slow consumer
	PingInterval     time.Duration
	MaxPingsOut      int
	WriteDeadline    time.Duration
	AuthTimeout      time.Duration

	// TLS, when set, offers TLS on the client port. TLSRequired refuses
	// plain connections; TLSHandshakeFirst starts TLS before INFO.
	TLS               *tls.Config
	TLSRequired       bool
	TLSHandshakeFirst bool
	TLSTimeout        time.Duration

	// Auth decides who may connect and what each connection may publish
	// and subscribe to; nil lets anyone connect and do anything. With nkey
	// users, INFO carries a nonce for the client to sign.
	Auth *auth.Authenticator

	// JetStream is advertised in INFO when a stream layer is attached.
	JetStream bool

	// Trace logs every protocol operation clients send, and every -ERR
	// sent to them, at debug level (see trace.go). Reload may change it.
	Trace bool

	// SystemAccount, when set, turns on the system account under this
	// name (see sysaccount.go); SystemUsers are the names (user name, or
	// public nkey for an nkey user without one) of the users in it.
	SystemAccount string
	SystemUsers   []string

	// TraceDest, when set, is where messages that carry a sampled W3C
	// traceparent header (and no Nats-Trace-Dest) are traced to, for
	// TraceSampling percent of them (0 or 100: all); see msgtrace.go.
	TraceDest     string
	TraceSampling int

	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	c := *o
	if c.MaxPayload <= 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxPayload > MaxPayloadLimit {
		c.MaxPayload = MaxPayloadLimit
	}
	if c.MaxControlLine <= 0 {
		c.MaxControlLine = DefaultMaxControlLine
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.MaxPingsOut <= 0 {
		c.MaxPingsOut = DefaultMaxPingsOut
	}
	if c.WriteDeadline <= 0 {
		c.WriteDeadline = DefaultWriteDeadline
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
		if c.Auth != nil {
			c.AuthTimeout = c.Auth.Timeout()
		}
	}
	if c.TLSTimeout <= 0 {
		c.TLSTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
