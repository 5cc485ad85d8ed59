package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Version is Wren's own version; the build may set it with -ldflags.
var Version = "0.1.0-dev"

// CompatVersion is the NATS server version Wren speaks for, reported in
// INFO's "version" so that clients enable the features Wren implements.
const CompatVersion = "2.11.0"

// Info is the INFO a server sends to each client.
type Info struct {
	ServerID     string   `json:"server_id"`
	ServerName   string   `json:"server_name"`
	Version      string   `json:"version"`
	Proto        int      `json:"proto"`
	GoVersion    string   `json:"go"`
	Host         string   `json:"host"`
	Port         int      `json:"port"`
	Headers      bool     `json:"headers"`
	MaxPayload   int      `json:"max_payload"`
	JetStream    bool     `json:"jetstream,omitempty"`
	AuthRequired bool     `json:"auth_required,omitempty"`
	TLSRequired  bool     `json:"tls_required,omitempty"`
	TLSVerify    bool     `json:"tls_verify,omitempty"`
	TLSAvailable bool     `json:"tls_available,omitempty"`
	ClientID     uint64   `json:"client_id,omitempty"`
	ClientIP     string   `json:"client_ip,omitempty"`
	Nonce        string   `json:"nonce,omitempty"`
	ConnectURLs  []string `json:"connect_urls,omitempty"`
	Wren         string   `json:"wren_version"`
	GitCommit    string   `json:"git_commit,omitempty"`
	LameDuckMode bool     `json:"ldm,omitempty"`
}

// stats are the server-wide counters monitoring reads.
type stats struct {
	totalConns    atomic.Int64
	slowConsumers atomic.Int64
	authFailures  atomic.Int64
	outMsgs       atomic.Int64
	outBytes      atomic.Int64
	// Inbound counts of connections that have closed; live ones are summed
	// from their own counters.
	closedInMsgs, closedInBytes atomic.Int64
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Connections      int
	Leafnodes        int // leaf-node links up
	TotalConnections int64
	Subscriptions    int
	InMsgs, InBytes  int64
	OutMsgs          int64
	OutBytes         int64
	SlowConsumers    int64
	Start            time.Time
}

// Server is a NATS-protocol broker.
type Server struct {
	opts  Options
	log   *slog.Logger
	id    string
	start time.Time
	cpu   cpuMeter
	sl    *Sublist
	stats stats
	wg    sync.WaitGroup
	live  atomic.Pointer[limits] // what Reload may change
	// tlsLive is nil when TLS is off; Reload swaps it, never to or from nil.
	tlsLive atomic.Pointer[tlsSettings]

	mu       sync.Mutex
	ln       net.Listener
	clients  map[uint64]*client
	nconns   int // socket clients in clients, for MaxConnections
	nextCID  uint64
	shutdown bool
	ldm      bool // lame-duck mode: see LameDuck
	auth     authState
	owners   ownerCache // identities of users the stream layer publishes for (owner.go)

	mon      monitor
	mem      memRelease      // guarded by mu
	memw     memWatch        // the heap watch (memwatch.go)
	interest interestTracker // local interest, for leaf links
	extra    extraRoutes
	sys      *sysAccount // nil unless Options.SystemAccount is set

	internalOnce sync.Once // opens internalIP, for trace events
	internalIP   *InProc
}

// New returns a server with the given options; Start makes it listen.
func New(opts Options) (*Server, error) {
	o := opts.withDefaults()
	if err := checkTLS(&o); err != nil {
		return nil, err
	}
	s := &Server{
		opts:    o,
		log:     o.Logger,
		id:      newServerID(),
		start:   time.Now(),
		sl:      NewSublist(),
		clients: make(map[uint64]*client),
	}
	s.cpu.start(s.start)
	if s.opts.ServerName == "" {
		s.opts.ServerName = s.id
	}
	s.live.Store(limitsOf(&o))
	s.tlsLive.Store(tlsSettingsOf(&o))
	s.auth.cur.Store(o.Auth)
	s.newSysAccount(&o)
	return s, nil
}

func newServerID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [22]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "N" + string(b[:])
}

// ID returns the server's id, as sent in INFO.
func (s *Server) ID() string { return s.id }

// Start listens on the configured address and starts accepting clients.
func (s *Server) Start() error {
	addr := net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		ln.Close()
		return errors.New("server is shut down")
	}
	s.ln = ln
	s.mu.Unlock()
	s.log.Info("listening for client connections", "addr", ln.Addr().String())
	s.warnIfOpen()
	s.wg.Add(1)
	go s.acceptLoop(ln)
	s.watchMemory()
	s.startStatszHeartbeat()
	return nil
}

// Addr returns the address the server listens on, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// ClientURL returns a nats:// URL for the listening address.
func (s *Server) ClientURL() string {
	a, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	AcceptLoop(ln, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.shutdown || s.ldm
	}, func(err error, retry time.Duration) {
		s.log.Error("accept failed", "error", err, "retry_in", retry)
	}, s.ServeConn)
}

// ServeConn serves one client connection; it returns at once.
func (s *Server) ServeConn(nc net.Conn) { s.serveConn(nc, false) }

// ServeWebSocket serves a NATS client that connected over WebSocket; TLS,
// if any, was the WebSocket listener's, so the client port's is not
// offered on top.
func (s *Server) ServeWebSocket(nc net.Conn) { s.serveConn(nc, true) }

func (s *Server) serveConn(nc net.Conn, ws bool) {
	s.mu.Lock()
	if s.shutdown || s.ldm {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if max := s.lim().maxConns; s.nconns >= max {
		s.mu.Unlock()
		s.log.Warn("maximum connections reached, refusing a client", "max", max, "remote", nc.RemoteAddr().String())
		go s.refuse(nc, errMaxConnections.text)
		return
	}
	s.nextCID++
	c := newClient(s, nc, s.nextCID, kindClient)
	c.websocket = ws
	s.clients[c.cid] = c
	s.nconns++
	s.noteConns()
	s.mu.Unlock()
	s.stats.totalConns.Add(1)
	s.log.Debug("client connection created", "cid", c.cid, "remote", c.remote())

	if t := s.tlsNow(); t != nil && !ws {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if !s.setupTLS(c, t) {
				c.closeConn(reasonProtocol, false)
				c.teardown()
				return
			}
			s.startLoops(c, c.tlsInfoSent)
		}()
		return
	}
	s.startLoops(c, false)
}

// startLoops sends INFO (unless already sent), arms the timers and starts
// the read loop; the write loop runs whenever something is queued.
func (s *Server) startLoops(c *client, infoSent bool) {
	if !infoSent {
		c.out.add(protocol.AppendInfo(nil, s.infoJSON(c)))
	}
	lim := s.lim()
	c.mu.Lock()
	c.auth.started = true
	if s.authRequired() {
		c.auth.timed = true
		c.authTmr = time.AfterFunc(lim.authTimeout, c.authTimeout)
	}
	c.mu.Unlock()
	c.timer = time.AfterFunc(lim.pingInterval, c.pingTick)
	c.raw = rawConnOf(c.nc)
	s.wg.Add(1)
	go c.readLoop(getReadBuf(minReadBuf))
	c.signal() // the write loop sends INFO, then ends until there is more
}

// refuse tells a client why it cannot connect, then closes.
func (s *Server) refuse(nc net.Conn, text string) {
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	var b []byte
	b = protocol.AppendInfo(b, s.infoJSON(nil))
	b = protocol.AppendErr(b, text)
	nc.Write(b)
	nc.Close()
}

// infoJSON builds the INFO for c (c may be nil).
func (s *Server) infoJSON(c *client) []byte {
	info := Info{
		ServerID:     s.id,
		ServerName:   s.opts.ServerName,
		Version:      CompatVersion,
		Proto:        1,
		GoVersion:    runtime.Version(),
		Host:         s.opts.Host,
		Port:         s.opts.Port,
		Headers:      true,
		MaxPayload:   s.lim().maxPayload,
		JetStream:    s.opts.JetStream,
		AuthRequired: s.authRequired(),
		Wren:         Version,
		GitCommit:    BuildCommit(),
		LameDuckMode: s.InLameDuckMode(),
	}
	if t := s.tlsNow(); t != nil && (c == nil || !c.websocket) {
		info.TLSAvailable = true
		info.TLSRequired = t.required || t.handshakeFirst
		info.TLSVerify = t.verify()
	}
	if a := s.Addr(); a != nil {
		if ta, ok := a.(*net.TCPAddr); ok {
			info.Port = ta.Port
		}
	}
	if adv := s.opts.ClientAdvertise; adv != "" {
		if _, _, err := net.SplitHostPort(adv); err != nil {
			adv = net.JoinHostPort(adv, strconv.Itoa(info.Port))
		}
		info.ConnectURLs = []string{adv}
	}
	if info.Host == "" {
		info.Host = "0.0.0.0"
	}
	if c != nil {
		info.ClientID = c.cid
		info.ClientIP = c.host
		if n := s.nonceFor(c); n != nil {
			info.Nonce = string(n)
		}
	}
	b, _ := json.Marshal(&info)
	return b
}

func (s *Server) removeClient(c *client) {
	s.stats.closedInMsgs.Add(c.inMsgs.Load())
	s.stats.closedInBytes.Add(c.inBytes.Load())
	s.mu.Lock()
	if _, ok := s.clients[c.cid]; ok {
		delete(s.clients, c.cid)
		if c.isConn() {
			s.nconns--
			s.noteConns()
		}
	}
	s.mu.Unlock()
}

// NumClients returns the number of open client connections.
func (s *Server) NumClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.clients {
		if c.kind == kindClient {
			n++
		}
	}
	return n
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{
		TotalConnections: s.stats.totalConns.Load(),
		Subscriptions:    s.sl.Count(),
		InMsgs:           s.stats.closedInMsgs.Load(),
		InBytes:          s.stats.closedInBytes.Load(),
		OutMsgs:          s.stats.outMsgs.Load(),
		OutBytes:         s.stats.outBytes.Load(),
		SlowConsumers:    s.stats.slowConsumers.Load(),
		Start:            s.start,
	}
	s.mu.Lock()
	for _, c := range s.clients {
		if c.isConn() {
			st.Connections++
		} else if c.kind == kindLeaf {
			st.Leafnodes++
		}
		st.InMsgs += c.inMsgs.Load()
		st.InBytes += c.inBytes.Load()
	}
	s.mu.Unlock()
	return st
}

// Shutdown stops accepting, flushes and closes every connection, and waits
// for the connections' goroutines until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil
	}
	s.shutdown = true
	s.stopMemoryWatch()
	ln := s.ln
	clients := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.stopMonitoring()
	s.stopStatszHeartbeat()
	for _, c := range clients {
		if c.kind == kindInProc {
			continue
		}
		c.closeConn(reasonShutdown, true)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.log.Info("server stopped")
		return nil
	case <-ctx.Done():
		for _, c := range clients {
			if c.nc != nil {
				c.closeNC()
			}
		}
		return ctx.Err()
	}
}
