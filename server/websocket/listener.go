package websocket

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/server"
)

// Options configure a Listener.
type Options struct {
	Host string
	Port int // 0 picks a free port
	// TLS, when set, serves wss://.
	TLS *tls.Config
	// AllowedOrigins, when not empty, lists the origins
	// ("https://app.example.com") whose pages may connect; a request with
	// another Origin is refused with 403. Requests without an Origin header
	// (not from a browser) are accepted.
	AllowedOrigins []string
	// HandshakeTimeout bounds the TLS handshake and the upgrade request.
	// Default 5s.
	HandshakeTimeout time.Duration
	// Compression accepts permessage-deflate (RFC 7692) when a client
	// offers it: compressed messages are inflated, and those the server
	// sends of minDeflate bytes or more are compressed.
	Compression bool
	// MaxMessage bounds what one compressed message may inflate to; past
	// it the connection is closed with 1009. Default 1 GB, the frame
	// limit.
	MaxMessage int64
	// NATS serves the NATS client protocol on a connection (every path but
	// /mqtt); MQTT serves MQTT (path /mqtt, subprotocol "mqtt"). A nil
	// handler refuses its path with 404.
	NATS, MQTT func(net.Conn)
	Logger     *slog.Logger
}

// MQTTPath is where MQTT over WebSocket is served.
const MQTTPath = "/mqtt"

// Listener accepts WebSocket connections.
type Listener struct {
	opts    Options
	log     *slog.Logger
	origins map[string]bool

	st stats

	mu     sync.Mutex
	ln     net.Listener
	closed bool
	wg     sync.WaitGroup
}

// New returns a listener; Start makes it listen.
func New(o Options) *Listener {
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Listener{opts: o, log: o.Logger}
	if len(o.AllowedOrigins) > 0 {
		l.origins = make(map[string]bool, len(o.AllowedOrigins))
		for _, s := range o.AllowedOrigins {
			l.origins[normalizeOrigin(s)] = true
		}
	}
	return l
}

// normalizeOrigin lowercases an origin and drops a trailing slash.
func normalizeOrigin(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/")
}

// stats counts compression on a listener's connections.
type stats struct {
	conns, inflated, deflated atomic.Uint64
	inWire, inBytes           atomic.Uint64
	outBytes, outWire         atomic.Uint64
}

// Stats are a listener's compression counters since it started.
type Stats struct {
	// CompressedConns counts the connections that negotiated
	// permessage-deflate.
	CompressedConns uint64
	// Inflated and Deflated count the compressed messages received and
	// sent.
	Inflated, Deflated uint64
	// InCompressed and InInflated are the bytes of the compressed
	// messages received, as they came and once inflated; OutRaw and
	// OutCompressed those of the messages sent compressed, before and
	// after. Messages sent plain (short ones, or those compression would
	// not shrink) are in neither.
	InCompressed, InInflated uint64
	OutRaw, OutCompressed    uint64
}

// Stats returns the listener's compression counters.
func (l *Listener) Stats() Stats {
	return Stats{
		CompressedConns: l.st.conns.Load(), Inflated: l.st.inflated.Load(), Deflated: l.st.deflated.Load(),
		InCompressed: l.st.inWire.Load(), InInflated: l.st.inBytes.Load(),
		OutRaw: l.st.outBytes.Load(), OutCompressed: l.st.outWire.Load(),
	}
}

// Start listens on the configured address.
func (l *Listener) Start() error {
	addr := net.JoinHostPort(l.opts.Host, strconv.Itoa(l.opts.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("websocket: listen on %s: %w", addr, err)
	}
	if l.opts.TLS != nil {
		ln = tls.NewListener(ln, l.opts.TLS)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		ln.Close()
		return errors.New("websocket: listener is closed")
	}
	l.ln = ln
	l.mu.Unlock()
	l.log.Info("listening for WebSocket clients", "addr", ln.Addr().String(), "tls", l.opts.TLS != nil, "mqtt", l.opts.MQTT != nil)
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

// Close stops accepting; connections already handed over are their
// protocol's to close.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	ln := l.ln
	l.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	l.wg.Wait()
	return nil
}

func (l *Listener) accept(ln net.Listener) {
	defer l.wg.Done()
	server.AcceptLoop(ln, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.closed
	}, func(err error, retry time.Duration) {
		l.log.Warn("websocket accept failed", "error", err, "retry_in", retry)
	}, func(nc net.Conn) { go l.upgrade(nc) })
}

// upgrade performs the handshake and hands the connection over.
func (l *Listener) upgrade(nc net.Conn) {
	nc.SetDeadline(time.Now().Add(l.opts.HandshakeTimeout))
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			l.log.Debug("websocket TLS handshake failed", "remote", nc.RemoteAddr().String(), "error", err)
			nc.Close()
			return
		}
	}
	br := bufio.NewReaderSize(nc, 1024)
	req, err := readRequest(br)
	var serve func(net.Conn)
	protocol := ""
	if err == nil {
		serve, protocol, err = l.route(req)
	}
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			nc.Write(refusal(he))
		}
		l.log.Debug("websocket upgrade refused", "remote", nc.RemoteAddr().String(), "error", err)
		nc.Close()
		return
	}
	ext := ""
	if l.opts.Compression {
		ext = negotiateDeflate(req.extensions)
	}
	if ext != "" {
		l.st.conns.Add(1)
	}
	if _, err := nc.Write(response(req.key, protocol, ext)); err != nil {
		nc.Close()
		return
	}
	nc.SetDeadline(time.Time{})
	c := newConn(nc, br)
	c.st = &l.st
	if ext != "" {
		c.deflate = true
		if l.opts.MaxMessage > 0 {
			c.maxMsg = uint64(l.opts.MaxMessage)
		}
	}
	serve(c)
}

// route picks the protocol for a request, checking its origin.
func (l *Listener) route(r *request) (func(net.Conn), string, error) {
	if l.origins != nil && r.origin != "" && !l.origins[normalizeOrigin(r.origin)] {
		return nil, "", &httpError{"403 Forbidden", "origin not allowed"}
	}
	if r.path == MQTTPath {
		if l.opts.MQTT == nil {
			return nil, "", &httpError{"404 Not Found", "MQTT is not served"}
		}
		for _, p := range r.protocols {
			if p == "mqtt" {
				return l.opts.MQTT, "mqtt", nil
			}
		}
		return nil, "", badRequest(`MQTT over WebSocket needs the "mqtt" subprotocol`)
	}
	if l.opts.NATS == nil {
		return nil, "", &httpError{"404 Not Found", "not served"}
	}
	return l.opts.NATS, "", nil
}
