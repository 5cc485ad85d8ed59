package conf

import (
	"log/slog"
	"time"
)

// Config is the whole configuration of a Wren daemon: one TOML file, whose
// keys are the toml tags below. Every key is optional; a missing key keeps its
// default (see Default). The annotated example wren.example.toml documents
// every key in the file's own terms.
type Config struct {
	// Host is the address the client listener binds to. Default "0.0.0.0".
	Host string `toml:"host"`
	// Port is the client port. Default 4222; 0 picks a free port.
	Port int `toml:"port"`
	// ServerName names this server in INFO and in logs. Empty (the
	// default) means the machine's host name. No whitespace.
	ServerName string `toml:"server_name"`
	// ClientAdvertise is the "host" or "host:port" given to clients in
	// INFO.connect_urls instead of the listen address, for a server behind
	// NAT or a proxy. Default empty: advertise nothing extra.
	ClientAdvertise string `toml:"client_advertise"`
	// SystemAccount names the system account, whose users (the
	// authorization.users entries with this account) may query the
	// server over $SYS (see system.go). Default empty: none.
	SystemAccount string `toml:"system_account"`

	Limits        Limits        `toml:"limits"`
	Log           Log           `toml:"log"`
	Monitor       Monitor       `toml:"monitor"`
	JetStream     JetStream     `toml:"jetstream"`
	Authorization Authorization `toml:"authorization"`
	TLS           TLS           `toml:"tls"`
	Leafnodes     Leafnodes     `toml:"leafnodes"`
	Shutdown      Shutdown      `toml:"shutdown"`
	MQTT          MQTT          `toml:"mqtt"`
	WebSocket     WebSocket     `toml:"websocket"`
	MsgTrace      MsgTrace      `toml:"msg_trace"`
}

// MaxPayloadLimit is the hard maximum of Limits.MaxPayload.
const MaxPayloadLimit = 8 * Megabyte

// Limits bounds what clients may do and how long the server waits for them.
type Limits struct {
	// MaxPayload is the largest message payload a client may publish.
	// Default 1MB, at most 8MB (MaxPayloadLimit).
	MaxPayload Size `toml:"max_payload"`
	// MaxControlLine is the longest protocol line (PUB, SUB, CONNECT, …)
	// a client may send. Default 4KB, at least 256B and at most 1MB.
	MaxControlLine Size `toml:"max_control_line"`
	// MaxConnections is the most client connections served at once.
	// Default 65536; at least 1.
	MaxConnections int `toml:"max_connections"`
	// MaxSubscriptions is the most subscriptions one connection may hold.
	// Default 0: unlimited.
	MaxSubscriptions int `toml:"max_subscriptions"`
	// MaxPending is how many bytes may wait to be written to one client
	// before it is disconnected as a slow consumer. Default 64MB; at least
	// MaxPayload.
	MaxPending Size `toml:"max_pending"`
	// PingInterval is how often the server pings an idle client.
	// Default 2m.
	PingInterval Duration `toml:"ping_interval"`
	// MaxPingsOut is how many pings may go unanswered before the client is
	// disconnected. Default 2.
	MaxPingsOut int `toml:"max_pings_out"`
	// WriteDeadline is how long one write to a client may block before the
	// client is disconnected. Default 10s.
	WriteDeadline Duration `toml:"write_deadline"`
	// GoMemLimit sets the Go runtime's soft memory limit (GOMEMLIMIT).
	// Default 0: leave the runtime's setting alone; otherwise at least 1MB.
	GoMemLimit Size `toml:"gomemlimit"`
}

// Log levels accepted in Log.Level.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Log formats accepted in Log.Format.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Log says what the daemon logs and where.
type Log struct {
	// Level is the least severe level logged: "debug", "info", "warn" or
	// "error". Default "info".
	Level string `toml:"level"`
	// File is the file logs are appended to. Default empty: standard error.
	File string `toml:"file"`
	// Format is "text" (key=value lines) or "json". Default "text".
	Format string `toml:"format"`
	// Time says whether each line carries a timestamp. Default true; turn it
	// off when a supervisor such as journald adds its own.
	Time bool `toml:"time"`
	// Trace logs every protocol operation a client sends (CONNECT without
	// its credentials, SUB, PUB with its subject and size, ...) and every
	// -ERR the server sends, with the connection id, at debug level: it
	// sets Level to "debug". A reload turns it on or off. Default false:
	// it costs throughput and fills logs.
	Trace bool `toml:"trace"`
}

// SlogLevel returns Level as a slog.Level. An unknown level (which Validate
// rejects) is reported as slog.LevelInfo.
func (l Log) SlogLevel() slog.Level {
	if l.Trace {
		return slog.LevelDebug
	}
	switch l.Level {
	case LevelDebug:
		return slog.LevelDebug
	case LevelWarn:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// Monitor is the HTTP monitoring listener (health, stats, Prometheus).
type Monitor struct {
	// Host is the address the monitoring listener binds to.
	// Default "127.0.0.1": set "0.0.0.0" to expose it.
	Host string `toml:"host"`
	// Port is the monitoring port. Default 0: monitoring off; -1 picks a
	// free port (logged at start). nats-server operators usually pick 8222.
	Port int `toml:"port"`
	// Token, when set, must be sent as "Authorization: Bearer <token>" on
	// every monitoring path except /healthz and the dashboard page itself
	// (which asks for it). Default empty: no token.
	Token string `toml:"token,omitempty"`
}

// Enabled reports whether the monitoring listener should run.
func (m Monitor) Enabled() bool { return m.Port != 0 }

// SyncPolicy says when the stream layer flushes its log to stable storage.
type SyncPolicy string

// Sync policies accepted in JetStream.Sync.
const (
	// SyncAlways fsyncs before acknowledging a publish: an acknowledged
	// message survives a crash or power loss. Concurrent publishes share
	// one fsync.
	SyncAlways SyncPolicy = "always"
	// SyncInterval fsyncs every JetStream.SyncInterval: a crash can lose up
	// to that much acknowledged data.
	SyncInterval SyncPolicy = "interval"
	// SyncNever leaves flushing to the operating system.
	SyncNever SyncPolicy = "never"
)

// Stream compression algorithms accepted in JetStream.Compression.
const (
	CompressionNone = "none"
	CompressionS2   = "s2"
)

// JetStream configures the durable stream layer.
type JetStream struct {
	// Enabled turns the stream layer on. Default false.
	Enabled bool `toml:"enabled"`
	// StoreDir is the directory holding stream data; it is created if
	// missing. Default "/var/lib/wren/jetstream".
	StoreDir string `toml:"store_dir"`
	// Sync is "always", "interval" or "never". Default "always".
	Sync SyncPolicy `toml:"sync"`
	// SyncInterval is how often data is flushed under Sync = "interval".
	// Default 1s.
	SyncInterval Duration `toml:"sync_interval"`
	// MaxStorage is the older name of MaxFile, used when MaxFile is 0.
	// Default 0: MaxFile's default.
	MaxStorage Size `toml:"max_storage"`
	// Compression is the compression of streams created without one of
	// their own: "none" or "s2". Default "none".
	Compression string `toml:"compression"`
	// Domain is the gateway's JetStream domain (nats-server's name): hub
	// clients reach its streams across a leaf link as $JS.<domain>.API.
	// Default none.
	Domain string `toml:"domain,omitempty"`

	// Limits (validated in jetstream_limits.go): 0 is the default, -1
	// no limit.
	// MaxMemory caps the bytes all memory streams hold together.
	// Default: a quarter of the machine's memory.
	MaxMemory Size `toml:"max_memory"`
	// MaxFile caps the bytes all file streams hold together. Default:
	// three quarters of the space free on the store's file system at
	// start, plus what the streams hold there already. MaxStorage, its
	// older name, is used when MaxFile is not set.
	MaxFile Size `toml:"max_file"`
	// MaxStreams caps the number of streams. Default unlimited.
	MaxStreams int `toml:"max_streams"`
	// MaxConsumers caps the consumers of all streams together (a stream's
	// own max_consumers caps its consumers). Default unlimited.
	MaxConsumers int `toml:"max_consumers"`
	// MaxAckPending is the largest max_ack_pending a consumer may ask
	// for. Default 100000.
	MaxAckPending int `toml:"max_ack_pending"`
	// MaxInactiveThreshold is the longest inactive_threshold a consumer
	// may ask for. Default 7 days.
	MaxInactiveThreshold Duration `toml:"max_inactive_threshold"`
	// DuplicateWindow is the longest duplicate_window a stream may ask
	// for. Default 24 hours.
	DuplicateWindow Duration `toml:"duplicate_window"`
	// MaxRequestSize caps the body of a JetStream API request.
	// Default 256KB.
	MaxRequestSize Size `toml:"max_request_size"`
	// RequestQueueLimit caps the API requests waiting for a worker;
	// beyond it a request is refused with a 503. Default 4096.
	RequestQueueLimit int `toml:"request_queue_limit"`
	// InfoQueueLimit caps the info, names and list requests waiting for
	// the workers kept for them. Default RequestQueueLimit.
	InfoQueueLimit int `toml:"info_queue_limit"`
}

// TLS secures the client listener.
type TLS struct {
	// CertFile is the server certificate (PEM). Setting it turns TLS on;
	// KeyFile is then required.
	CertFile string `toml:"cert_file"`
	// KeyFile is the private key of CertFile (PEM).
	KeyFile string `toml:"key_file"`
	// CAFile holds the CAs (PEM) that client certificates are verified
	// against. Default empty: the system's roots.
	CAFile string `toml:"ca_file"`
	// Verify requires every client to present a valid certificate.
	Verify bool `toml:"verify"`
	// VerifyAndMap requires a client certificate (as Verify does) and
	// authenticates the client as the authorization.users entry whose user
	// equals the certificate's subject DN, or one of its e-mail or DNS
	// subject alternative names.
	VerifyAndMap bool `toml:"verify_and_map"`
	// HandshakeFirst starts the TLS handshake as soon as a client connects,
	// before the server sends INFO. Clients must be configured for it.
	HandshakeFirst bool `toml:"handshake_first"`
	// Timeout bounds the TLS handshake. Default 2s.
	Timeout Duration `toml:"timeout"`
}

// Enabled reports whether the client listener uses TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// Default returns the configuration Wren runs with when nothing is set.
// DefaultTOML spells out the same values.
func Default() *Config {
	return &Config{
		Host: "0.0.0.0",
		Port: 4222,
		Limits: Limits{
			MaxPayload:     1 * Megabyte,
			MaxControlLine: 4 * Kilobyte,
			MaxConnections: 65536,
			MaxPending:     64 * Megabyte,
			PingInterval:   Duration(2 * time.Minute),
			MaxPingsOut:    2,
			WriteDeadline:  Duration(10 * time.Second),
		},
		Log: Log{
			Level:  LevelInfo,
			Format: FormatText,
			Time:   true,
		},
		Monitor: Monitor{
			Host: "127.0.0.1",
		},
		JetStream: JetStream{
			StoreDir:     "/var/lib/wren/jetstream",
			Sync:         SyncAlways,
			SyncInterval: Duration(time.Second),
			Compression:  CompressionNone,
		},
		Authorization: Authorization{
			Timeout: Duration(2 * time.Second),
		},
		TLS: TLS{
			Timeout: Duration(2 * time.Second),
		},
		Leafnodes: defaultLeafnodes(),
		Shutdown:  defaultShutdown(),
		MQTT:      defaultMQTT(),
		WebSocket: defaultWebSocket(),
		MsgTrace:  MsgTrace{Sampling: 100},
	}
}
