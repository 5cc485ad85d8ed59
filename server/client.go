package server

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/protocol"
)

// connectOpts is the JSON a client sends in CONNECT.
type connectOpts struct {
	Verbose      bool   `json:"verbose"`
	Pedantic     bool   `json:"pedantic"`
	TLSRequired  bool   `json:"tls_required"`
	Echo         bool   `json:"echo"`
	Headers      bool   `json:"headers"`
	NoResponders bool   `json:"no_responders"`
	Protocol     int    `json:"protocol"`
	Name         string `json:"name"`
	Lang         string `json:"lang"`
	Version      string `json:"version"`
	User         string `json:"user"`
	Pass         string `json:"pass"`
	AuthToken    string `json:"auth_token"`
	Nkey         string `json:"nkey"`
	Sig          string `json:"sig"`
	JWT          string `json:"jwt"`
}

const (
	kindClient = iota
	kindInProc
)

// Read buffer sizes: start small so idle connections cost little, grow
// while reads fill the buffer, shrink back when they stop doing so.
const (
	minReadBuf = 512
	maxReadBuf = 256 << 10
)

// subscription is one SUB of one connection.
type subscription struct {
	client  *client
	subject string
	queue   string
	sid     string
	handler func(*protocol.Msg) // set for in-process subscriptions
	traced  bool                // an in-process subscriber that takes part in tracing

	max    atomic.Int64 // auto-unsubscribe after this many deliveries; 0 is none
	nm     atomic.Int64 // deliveries so far
	closed atomic.Bool
	filter atomic.Bool // overlaps a subscribe deny entry: check each delivery
	// noLocal: not delivered what its own connection publishes (a
	// session's MQTT 5 No Local).
	noLocal bool

	node *sublistNode // where the subject index holds it; guarded by Sublist.mu
}

// client is one connection: a socket with its read and write loops, or an
// in-process connection.
type client struct {
	srv   *Server
	nc    net.Conn
	cid   uint64
	kind  int
	start time.Time
	host  string
	port  int

	// *readState is the parser and producer of a connection with a read
	// loop; a session, which has none, goes without (see readState).
	*readState
	// shed is set by the handlers whose calls run deep (CONNECT's JSON
	// decoding and credential checks, SUB and UNSUB in the subject index).
	// They grow the read loop's stack, and a parked goroutine's stack never
	// shrinks back to the minimum, so every idle connection would keep the
	// larger stack for life; instead the read loop continues on a new
	// goroutine after such a read. Read loop only.
	shed bool
	// subShedAt is when SUB or UNSUB last shed (since start), subShedOwed
	// that one put its shed off (shed.go). Read loop only.
	subShedAt   time.Duration
	subShedOwed bool

	timer      *time.Timer // pings
	stallTimer *time.Timer // read loop only
	authTmr    *time.Timer

	inMsgs, inBytes atomic.Int64
	// rdMsgs and rdBytes count the PUBs of the read buffer being parsed;
	// foldIn adds them to inMsgs and inBytes. Read loop only.
	rdMsgs, rdBytes int64

	perms atomic.Pointer[auth.Checker] // nil: unrestricted
	sys   atomic.Bool                  // a user of the system account

	mu        sync.Mutex
	opts      connectOpts
	connected bool // CONNECT received
	closed    bool
	reason    string
	subs      map[string]*subscription
	out       outbound
	pingsOut  int
	outMsgs   int64
	outBytes  int64
	nonce     []byte
	auth      clientAuth

	tlsInfoSent bool
	tlsState    *tls.ConnectionState
	websocket   bool // came over the WebSocket listener

	// onClose tells a session's listener that the broker closed it.
	onClose func(reason string)
	// sess is set for a session (kindSession): how monitoring shows it.
	sess *sessionConn

	leaf *LeafConn // set for a leaf-node link
	// raw is the socket of a plain TCP connection, set before its read
	// loop starts; nil for every other (see flushnow.go).
	raw syscall.RawConn
}

// readState is what only a read loop uses. It is apart from client
// because sessions (an MQTT client's broker connection) publish through
// producers of their own and never parse: each of thousands of idle
// devices would otherwise carry a parser and a producer it never uses.
type readState struct {
	parser protocol.Parser // read loop only
	pc     producer        // read loop only
	ends   readEnds        // read loop only
}

// clientReader is a client with a read loop, allocated with its read
// state.
type clientReader struct {
	client
	rs readState
}

// wireError is an error reported to the client with -ERR; fatal ones close
// the connection.
type wireError struct {
	text  string
	fatal bool
}

func (e *wireError) Error() string { return e.text }

var (
	errAuthViolation  = &wireError{"Authorization Violation", true}
	errAuthTimeout    = &wireError{"Authentication Timeout", true}
	errBadProtocol    = &wireError{"invalid client protocol", true}
	errNoRespHeaders  = &wireError{"no responders requires headers support", true}
	errMaxConnections = &wireError{"maximum connections exceeded", true}
	errStale          = &wireError{"Stale Connection", true}
	errTLSRequired    = &wireError{"Secure Connection - TLS Required", true}
)

// Errors sent without closing.
const (
	errTextInvalidSubject    = "Invalid Subject"
	errTextInvalidPubSubject = "Invalid Publish Subject"
	errTextMaxSubs           = "maximum subscriptions exceeded"
)

// Close reasons, for logs and monitoring.
const (
	reasonClientClosed = "Client Closed"
	reasonSlowConsumer = "Slow Consumer (Pending Bytes)"
	reasonSlowWrite    = "Slow Consumer (Write Deadline)"
	reasonProtocol     = "Protocol Error"
	reasonShutdown     = "Server Shutdown"
	reasonWriteError   = "Write Error"
)

func newClient(s *Server, nc net.Conn, cid uint64, kind int) *client {
	var c *client
	if kind == kindSession {
		c = &client{}
	} else {
		// One allocation for the client and its read state: apart, the
		// two size classes left about 400 bytes a connection behind
		// after a spike of 10,000 connections closed.
		cr := &clientReader{}
		c = &cr.client
		c.readState = &cr.rs
	}
	c.srv, c.nc, c.cid, c.kind = s, nc, cid, kind
	c.start = time.Now()
	c.subs = make(map[string]*subscription)
	c.opts.Echo = true
	if kind != kindSession {
		lim := s.lim()
		c.parser.MaxControlLine = lim.maxControlLine
		c.parser.MaxPayload = lim.maxPayload
		c.pc.init(c)
	}
	if nc != nil {
		if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
			c.host, c.port = a.IP.String(), a.Port
		}
	}
	return c
}

// readLoop owns the read buffer and the parser. It starts with a buffer of
// minReadBuf bytes; see shed for why it may hand over to a new goroutine.
func (c *client) readLoop(rb *readBuf) {
	handedOver := false
	defer func() {
		if !handedOver {
			rb.unpin()
			c.teardown()
			c.srv.wg.Done()
		}
	}()
	if c.raw != nil && rawReadLoop {
		r := &rawReader{c: c, rb: rb}
		r.fn = r.call
		for {
			r.exit, r.err, r.perr = false, nil, nil
			err := c.raw.Read(r.fn)
			rb = r.rb
			if err == nil {
				err = r.err
			}
			if r.exit {
				if c.pc.stall != nil {
					c.waitStalled()
				}
				if r.perr != nil {
					c.protoError(r.perr)
					return
				}
				if c.closing() {
					return // its socket's Close waited for this
				}
				if c.shed {
					c.shed = false
					handedOver = true
					go c.readLoop(rb)
					return
				}
			}
			if err != nil {
				c.closeConn(reasonClientClosed, false)
				return
			}
		}
	}
	r := rawReader{c: c, rb: rb}
	for {
		r.rb = next(r.rb) // not one a subscriber still writes from
		n, err := c.nc.Read(r.rb.b)
		rb = r.rb
		if n > 0 {
			r.perr = nil
			c.serve(&r, n)
			rb = r.rb
			if c.pc.stall != nil {
				c.waitStalled()
			}
			if r.perr != nil {
				c.protoError(r.perr)
				return
			}
			if c.shed && err == nil {
				// Go on with a fresh, small stack; this goroutine's
				// wait-group count carries over.
				c.shed = false
				handedOver = true
				go c.readLoop(rb)
				return
			}
		}
		if err != nil {
			c.closeConn(reasonClientClosed, false)
			return
		}
	}
}

// serve parses n bytes read into r.rb, writes what it queued for
// receivers without a running write loop, and adapts the buffer to the
// traffic. It reports whether the read loop must leave a raw read call:
// to wait for a stalled subscriber, on a parse error, or to shed its stack.
func (c *client) serve(r *rawReader, n int) bool {
	rb := r.rb
	c.pc.rb = rb
	c.ends.on = true
	if c.tracing() {
		r.perr = c.parser.Parse(rb.b[:n], tracer{c})
	} else {
		r.perr = c.parser.Parse(rb.b[:n], c)
	}
	c.ends.on = false
	c.shedOwed()
	c.pc.rb = nil
	c.foldIn()
	c.pc.flushNow()
	if len(c.ends.hooks) > 0 {
		// Also after a parse error: what the buffer queued is owed.
		c.runReadEnds(n < len(rb.b) && r.perr == nil)
	}
	switch size := len(rb.b); {
	case n == size && size < maxReadBuf:
		r.rb = resize(rb, size*2)
		r.short = 0
	case n < size/4 && size > minReadBuf:
		if r.short++; r.short > 8 {
			r.rb = resize(rb, size/2)
			r.short = 0
		}
	default:
		r.short = 0
	}
	return c.pc.stall != nil || r.perr != nil || c.shed
}

// protoError reports a parse or handler error to the client and closes.
// Parsing stopped mid-buffer, so every error that reaches here is fatal:
// handlers report the errors that leave a connection open themselves and
// return nil.
func (c *client) protoError(err error) {
	var we *wireError
	if errors.As(err, &we) {
		we = &wireError{text: we.text, fatal: true}
	} else if err == errClosing {
		return
	} else {
		we = &wireError{text: err.Error(), fatal: true}
		if err != protocol.ErrUnknownOp && err != protocol.ErrMaxControlLine && err != protocol.ErrMaxPayload {
			we.text = protocol.ErrUnknownOp.Error()
		}
	}
	c.srv.log.Debug("closing connection", "cid", c.cid, "error", we.text)
	c.traceErr(we.text)
	c.closeWithErr(reasonProtocol, we.text)
}

// errClosing stops the parser once the connection is being closed.
var errClosing = errors.New("connection closing")

// sendErr queues an -ERR line to this client. Like every byte queued for a
// client, it counts against max_pending.
func (c *client) sendErr(text string) {
	c.traceErr(text)
	c.mu.Lock()
	if !c.closed {
		c.out.addErr(text)
	}
	slow := c.overPending()
	c.mu.Unlock()
	c.queued(slow)
}

// sendRaw queues a control line (PONG, +OK) to this client; it counts
// against max_pending.
func (c *client) sendRaw(b []byte) {
	c.mu.Lock()
	if !c.closed {
		c.out.add(b)
	}
	slow := c.overPending()
	c.mu.Unlock()
	c.queued(slow)
}

// okIfVerbose queues +OK when the client asked for it.
func (c *client) okIfVerbose() {
	if c.opts.Verbose {
		c.foldIn()
		c.sendRaw(protocol.OKLine)
	}
}

// mustConnectFirst rejects operations before CONNECT when auth is on.
func (c *client) mustConnectFirst() error {
	if c.connected || !c.srv.authRequired() {
		return nil
	}
	return errAuthViolation
}

// Connect implements protocol.Handler.
func (c *client) Connect(js []byte) error {
	c.shed = true
	opts := connectOpts{Verbose: true, Pedantic: true, Echo: true}
	if err := json.Unmarshal(js, &opts); err != nil {
		return protocol.ErrUnknownOp
	}
	if opts.Protocol < 0 || opts.Protocol > 1 {
		return errBadProtocol
	}
	if opts.NoResponders && !opts.Headers {
		return errNoRespHeaders
	}
	if err := c.srv.authenticate(c, &opts); err != nil {
		return err
	}
	c.mu.Lock()
	c.opts = opts
	first := !c.connected
	c.connected = true
	c.mu.Unlock()
	if c.authTmr != nil {
		c.authTmr.Stop()
	}
	c.okIfVerbose()
	if first && c.srv.sys != nil {
		c.srv.connectEvent(c)
	}
	return nil
}

// Pub implements protocol.Handler.
func (c *client) Pub(subject, reply, header, payload []byte) error {
	if err := c.mustConnectFirst(); err != nil {
		return err
	}
	c.rdMsgs++
	c.rdBytes += int64(len(header) + len(payload))
	if c.opts.Pedantic && !protocol.ValidLiteralBytes(subject) {
		c.sendErr(errTextInvalidPubSubject)
		return nil
	}
	if len(reply) > 0 && reservedReply(reply) {
		c.sendErr(`Permissions Violation for Publish with Reply of "` + string(reply) + `"`)
		c.srv.log.Warn("publish with a reserved reply subject refused", "cid", c.cid, "reply", string(reply))
		return nil
	}
	if !c.permitPub(subject) || !c.permitReply(subject, reply) {
		return nil
	}
	if len(subject) > 4 && subject[0] == '$' && isSysSubject(subject) {
		switch {
		case c.srv.sys != nil:
			c.sysPublish(subject, reply, header, payload)
			c.okIfVerbose()
			return nil
		case c.accountPublish(subject, reply, payload):
			c.okIfVerbose()
			return nil
		}
	}
	if len(header) > 0 && c.srv.mayTrace(header) {
		c.pc.tracedPublish(subject, reply, header, payload)
		c.okIfVerbose()
		return nil
	}
	c.pc.publish(subject, reply, header, payload)
	c.okIfVerbose()
	return nil
}

// ackPrefix starts the subjects stream acknowledgements travel on.
const ackPrefix = "$JS.ACK."

// reservedReply reports whether a client may not use reply as a reply
// subject: a responder, or a stream's PubAck, would then publish on an
// acknowledgement subject and ack another consumer's message for it.
func reservedReply(reply []byte) bool {
	return len(reply) >= len(ackPrefix) && string(reply[:len(ackPrefix)]) == ackPrefix
}

// Sub implements protocol.Handler.
func (c *client) Sub(subject, queue, sid []byte) error {
	c.shedSub()
	if err := c.mustConnectFirst(); err != nil {
		return err
	}
	if !protocol.ValidFilterBytes(subject) || (queue != nil && !protocol.ValidLiteralBytes(queue)) {
		c.sendErr(errTextInvalidSubject)
		return nil
	}
	sub := &subscription{client: c, subject: string(subject), queue: string(queue), sid: string(sid)}
	ck := c.perms.Load()
	if !c.permitSub(sub, ck) {
		return nil
	}
	if err := c.addSub(sub); err != nil {
		var we *wireError
		if errors.As(err, &we) {
			c.sendErr(we.text)
			return nil
		}
		return err
	}
	if c.perms.Load() != ck {
		c.recheckSub(sub) // permissions were reloaded meanwhile
	}
	c.okIfVerbose()
	return nil
}

// addSub registers sub with this connection and the subject index.
func (c *client) addSub(sub *subscription) error {
	max := c.srv.lim().maxSubs
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosing
	}
	if _, dup := c.subs[sub.sid]; dup {
		c.mu.Unlock()
		return nil
	}
	if max > 0 && len(c.subs) >= max && c.kind == kindClient {
		c.mu.Unlock()
		return &wireError{text: errTextMaxSubs}
	}
	c.subs[sub.sid] = sub
	c.mu.Unlock()
	if err := c.srv.sl.Insert(sub); err != nil {
		c.mu.Lock()
		delete(c.subs, sub.sid)
		c.mu.Unlock()
		return &wireError{text: errTextInvalidSubject}
	}
	c.srv.interest.changed(sub, 1)
	return nil
}

// Unsub implements protocol.Handler.
func (c *client) Unsub(sid []byte, max int64) error {
	c.shedSub()
	if err := c.mustConnectFirst(); err != nil {
		return err
	}
	c.unsub(string(sid), max)
	c.okIfVerbose()
	return nil
}

func (c *client) unsub(sid string, max int64) {
	c.mu.Lock()
	sub := c.subs[sid]
	if sub == nil {
		c.mu.Unlock()
		return
	}
	if max > 0 && sub.nm.Load() < max {
		sub.max.Store(max)
		c.mu.Unlock()
		// A delivery may have reached max between the check and the
		// store; it would then skip the subscription without removing it.
		if sub.nm.Load() >= max {
			c.removeSub(sub)
		}
		return
	}
	delete(c.subs, sid)
	c.mu.Unlock()
	sub.closed.Store(true)
	if c.srv.sl.Remove(sub) {
		c.srv.interest.changed(sub, -1)
	}
}

// removeSub drops a subscription that reached its auto-unsubscribe count.
func (c *client) removeSub(sub *subscription) {
	if sub.closed.Swap(true) {
		return
	}
	c.mu.Lock()
	if c.subs[sub.sid] == sub {
		delete(c.subs, sub.sid)
	}
	c.mu.Unlock()
	if c.srv.sl.Remove(sub) {
		c.srv.interest.changed(sub, -1)
	}
}

// Ping implements protocol.Handler.
func (c *client) Ping() error {
	if err := c.mustConnectFirst(); err != nil {
		return err
	}
	c.foldIn()
	c.sendRaw(protocol.PongLine)
	return nil
}

// Pong implements protocol.Handler.
func (c *client) Pong() error {
	c.mu.Lock()
	c.pingsOut = 0
	c.mu.Unlock()
	return nil
}

// pingTick sends a PING, or closes a connection that left too many
// unanswered.
func (c *client) pingTick() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.pingsOut+1 > c.srv.lim().maxPingsOut {
		c.mu.Unlock()
		c.srv.log.Debug("stale connection", "cid", c.cid)
		c.closeWithErr(errStale.text, errStale.text)
		return
	}
	c.pingsOut++
	c.out.add(protocol.PingLine)
	slow := c.overPending()
	c.mu.Unlock()
	if slow {
		c.slowConsumer()
		return
	}
	c.signal()
	c.timer.Reset(c.srv.lim().pingInterval)
}

// authTimeout closes a connection that has not authenticated in time.
func (c *client) authTimeout() {
	c.mu.Lock()
	done := c.connected || c.closed
	c.mu.Unlock()
	if !done {
		c.closeWithErr(errAuthTimeout.text, errAuthTimeout.text)
	}
}

// closeConn marks the connection closed. With flush the write loop sends
// what is queued before closing the socket; without, the socket closes now.
func (c *client) closeConn(reason string, flush bool) bool {
	return c.closeConnErr(reason, flush, "")
}

// closeWithErr sends the -ERR line text and closes the connection after
// it. The line is queued in the same step that marks the connection
// closed, so it is the last thing the client reads: no message delivered
// meanwhile can follow it.
func (c *client) closeWithErr(reason, text string) bool {
	return c.closeConnErr(reason, true, text)
}

func (c *client) closeConnErr(reason string, flush bool, errText string) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if errText != "" {
		c.out.addErr(errText)
	}
	c.closed = true
	c.reason = reason
	c.out.releaseStalled()
	if !flush || c.kind == kindSession {
		c.out.reset()
	}
	onClose := c.onClose
	c.onClose = nil
	c.mu.Unlock()
	if onClose != nil {
		onClose(reason)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.authTmr != nil {
		c.authTmr.Stop()
	}
	if c.nc != nil && !flush {
		c.closeNC()
	}
	c.signal()
	return true
}

// teardown removes what the connection left behind; it runs once, after the
// read loop ends (or on an in-process connection's Close).
func (c *client) teardown() {
	c.closeConn(reasonClientClosed, true)
	c.mu.Lock()
	subs := make([]*subscription, 0, len(c.subs))
	for _, sub := range c.subs {
		subs = append(subs, sub)
	}
	c.subs = nil
	c.mu.Unlock()
	for _, sub := range subs {
		sub.closed.Store(true)
	}
	removed := c.srv.sl.RemoveBatch(subs)
	for _, sub := range removed {
		c.srv.interest.changed(sub, -1)
	}
	c.srv.noteSubsRemoved(len(removed))
	c.srv.removeClient(c)
	c.logClosed()
	if c.srv.sys != nil { // checked here: nothing of the system account runs while it is off
		c.srv.disconnectEvent(c)
	}
}
