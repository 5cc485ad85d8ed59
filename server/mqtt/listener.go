package mqtt

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
	"github.com/wrenmq/wren/server"
)

// Defaults of Options.
const (
	DefaultPort           = 1883
	DefaultMaxPacketSize  = 1<<20 + 64<<10 // a 1 MiB payload with its topic and properties
	DefaultMaxInflight    = 1024
	DefaultMaxQueued      = 10000
	DefaultMaxPending     = 16 << 20
	DefaultTopicAliasMax  = 64
	DefaultConnectTimeout = 10 * time.Second
	DefaultWriteDeadline  = 10 * time.Second
)

// Options configure a Listener. Zero values take the defaults above, except
// Port, where 0 picks a free port.
type Options struct {
	Host string
	Port int
	// TLS, when set, serves MQTT over TLS (from the first byte, as MQTT
	// clients expect on 8883). With client certificates verified, the
	// certificate authenticates as it does on the NATS port.
	TLS *tls.Config
	// Store keeps sessions, their QoS 1/2 messages and retained messages;
	// nil keeps them in memory.
	Store Store
	// MaxPacketSize is the largest packet a client may send (advertised to
	// MQTT 5 clients as Maximum Packet Size).
	MaxPacketSize int
	// MaxInflight is how many QoS 1 and 2 messages may wait for a client's
	// acknowledgement; an MQTT 5 client's Receive Maximum lowers it. It is
	// also the Receive Maximum advertised to MQTT 5 clients.
	MaxInflight int
	// MaxQueued is how many QoS 1 and 2 messages a session holds beyond
	// its in-flight window (while it is offline, or the window is full);
	// newer messages are dropped and counted.
	MaxQueued int
	// MaxPending is how many bytes may wait to be written to one client
	// before it is disconnected as a slow consumer.
	MaxPending int
	// TopicAliasMaximum is how many topic aliases an MQTT 5 client may
	// set, and caps those the server gives the topics it sends (see
	// outalias.go).
	TopicAliasMaximum int
	// MaxSessionExpiry caps the session expiry a client asks for, and is
	// the expiry of a 3.1.1 persistent session. 0: never expire.
	MaxSessionExpiry time.Duration
	ConnectTimeout   time.Duration
	WriteDeadline    time.Duration
	Logger           *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = DefaultMaxPacketSize
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = DefaultMaxInflight
	}
	o.MaxInflight = min(o.MaxInflight, 65535)
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.TopicAliasMaximum < 0 {
		o.TopicAliasMaximum = 0
	} else if o.TopicAliasMaximum == 0 {
		o.TopicAliasMaximum = DefaultTopicAliasMax
	}
	o.TopicAliasMaximum = min(o.TopicAliasMaximum, 65535)
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.WriteDeadline <= 0 {
		o.WriteDeadline = DefaultWriteDeadline
	}
	if o.Store == nil {
		o.Store = NewMemStore()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats are the listener's counters.
type Stats struct {
	Connections   int   // open MQTT connections
	Sessions      int   // sessions, online and offline
	Retained      int   // retained messages
	Dropped       int64 // QoS 1/2 messages dropped from full session queues
	SlowConsumers int64
}

// Listener serves MQTT clients for a broker.
type Listener struct {
	srv   *server.Server
	opts  Options
	log   *slog.Logger
	store Store
	ret   retainedIndex

	puts    atomic.Uint64 // store changes made, for skipping needless syncs
	dropped atomic.Int64
	slow    atomic.Int64
	connSeq atomic.Uint64
	idle    idlePoller // the sockets of quiet connections

	// subMu orders retained messages against new subscriptions: a
	// retained message is set and routed under the read lock, a SUBSCRIBE
	// makes its broker subscriptions and takes their retained messages
	// under the write lock. It comes before session.mu.
	subMu sync.RWMutex

	mu       sync.Mutex
	ln       net.Listener
	closed   bool
	sessions map[string]*session
	conns    map[*conn]struct{}
	wg       sync.WaitGroup
}

// New makes a listener for srv and loads what opts.Store holds; Start
// makes it listen.
func New(srv *server.Server, opts Options) (*Listener, error) {
	o := opts.withDefaults()
	l := &Listener{
		srv:      srv,
		opts:     o,
		log:      o.Logger,
		store:    o.Store,
		sessions: make(map[string]*session),
		conns:    make(map[*conn]struct{}),
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	l.restoreSubs()
	return l, nil
}

// Start listens on the configured address.
func (l *Listener) Start() error {
	addr := net.JoinHostPort(l.opts.Host, strconv.Itoa(l.opts.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mqtt: listen on %s: %w", addr, err)
	}
	if l.opts.TLS != nil {
		ln = tls.NewListener(ln, l.opts.TLS)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		ln.Close()
		return errors.New("mqtt: listener is closed")
	}
	l.ln = ln
	l.mu.Unlock()
	l.log.Info("listening for MQTT clients", "addr", ln.Addr().String(), "tls", l.opts.TLS != nil)
	l.wg.Add(1)
	go l.accept(ln)
	return nil
}

// Addr is the listening address, nil before Start.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

func (l *Listener) accept(ln net.Listener) {
	defer l.wg.Done()
	server.AcceptLoop(ln, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.closed
	}, func(err error, retry time.Duration) {
		l.log.Warn("mqtt accept failed", "error", err, "retry_in", retry)
	}, l.Serve)
}

// Serve serves one MQTT connection (a socket, or a WebSocket carrying
// MQTT); it returns at once.
func (l *Listener) Serve(nc net.Conn) {
	c := newConn(l, nc)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		nc.Close()
		return
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	go c.serve() // the read loop calls l.wg.Done
}

// Close stops accepting and closes every connection. Sessions stay in the
// store; wills are not published (the clients did not go away, the server
// did).
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	ln := l.ln
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.shutdown(mqtt.ServerShuttingDown)
	}
	l.wg.Wait()
	l.idle.stop()
	l.mu.Lock()
	sessions := make([]*session, 0, len(l.sessions))
	for _, s := range l.sessions {
		sessions = append(sessions, s)
	}
	l.mu.Unlock()
	for _, s := range sessions {
		s.stopTimers()
	}
	done := make(chan error, 1)
	l.store.Sync(func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("mqtt: store did not sync within 5s")
	}
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	st := Stats{Connections: len(l.conns), Sessions: len(l.sessions)}
	l.mu.Unlock()
	l.ret.mu.RLock()
	st.Retained = l.ret.n
	l.ret.mu.RUnlock()
	st.Dropped = l.dropped.Load()
	st.SlowConsumers = l.slow.Load()
	return st
}

func (l *Listener) removeConn(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// put and del change the store, counting the change.
func (l *Listener) put(key string, value []byte, done func(error)) {
	l.puts.Add(1)
	l.store.Put(key, value, done)
}

func (l *Listener) del(key string, done func(error)) {
	l.puts.Add(1)
	l.store.Delete(key, done)
}

// durable reports whether a stream holds messages published to subject.
func (l *Listener) durable(subject []byte) bool {
	return l.store.Holds(string(subject))
}
