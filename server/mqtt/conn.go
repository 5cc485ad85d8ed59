package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
	"github.com/wrenmq/wren/server"
)

// Read buffer sizes: small while idle, grown for large packets.
const (
	minReadBuf = 256
	maxIdleBuf = 4096
)

// conn is one MQTT network connection. The read loop owns everything not
// under mu; a write loop runs while there are bytes to write.
type conn struct {
	l   *Listener
	nc  net.Conn
	id  uint64
	raw syscall.RawConn // a plain TCP socket's, for reads without a buffer
	v   byte            // protocol level, set by CONNECT
	bs  *server.Session
	s   *session
	cid string // the MQTT client id, once known

	keepAlive time.Duration
	maxOut    int // the client's Maximum Packet Size; 0 unlimited
	window    int // outbound QoS 1/2 in flight, at most
	aliases   map[uint16][]byte
	aliasOut  *outAliases // nil unless the client takes aliases; under the session's mu (outalias.go)
	will      *will
	replies   replies // open requests with correlation data (reqreply.go)

	// shed asks the read loop to go on on a fresh goroutine (see readLoop).
	shed bool

	// Keep alive and parking (idlepoll_linux.go). kaDeadline is when the
	// keep alive runs out, in Unix nanoseconds, 0 for none. idleWait: the
	// read deadline is idleGrace away (or the keep alive's, if sooner) so
	// a quiet connection can park; noPark: parking failed, do not try
	// again. kaTimer ends a parked connection whose keep alive ran out.
	kaDeadline atomic.Int64
	idleWait   bool
	noPark     bool
	kaTimer    *time.Timer

	mu      sync.Mutex
	out     []byte
	spare   []byte
	writing bool
	closing bool // no more writes after what is queued
	closed  bool
	acks    []*ack // inbound QoS 1/2 acknowledgements, in arrival order
}

// ack is an acknowledgement that waits for the store.
type ack struct {
	pkt  mqtt.Ack
	done bool
}

func newConn(l *Listener, nc net.Conn) *conn {
	c := &conn{l: l, nc: nc, id: l.connSeq.Add(1)}
	return c
}

// attrs are the attributes of c's log lines, then extra.
func (c *conn) attrs(extra ...any) []any {
	a := []any{"cid", c.id, "remote", c.nc.RemoteAddr().String()}
	if c.cid != "" {
		a = append(a, "client_id", c.cid)
	}
	return append(a, extra...)
}

// debug logs a debug line with c's attributes. The attributes are built
// only when debug logging is on: every connect would otherwise leave them
// behind as garbage.
func (c *conn) debug(msg string, extra ...any) {
	if c.l.log.Enabled(context.Background(), slog.LevelDebug) {
		c.l.log.Debug(msg, c.attrs(extra...)...)
	}
}

// errClose ends the read loop; the reason was sent already, if any.
var errClose = errors.New("close")

// serve runs the connection: TLS handshake, then the read loop.
func (c *conn) serve() {
	if tc, ok := c.nc.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(c.l.opts.ConnectTimeout))
		if err := tc.Handshake(); err != nil {
			c.debug("mqtt TLS handshake failed", "error", err)
			c.teardown()
			c.l.wg.Done()
			return
		}
		tc.SetDeadline(time.Time{})
	}
	c.raw = rawOf(c.nc)
	c.nc.SetReadDeadline(time.Now().Add(c.l.opts.ConnectTimeout))
	c.readLoop(nil, 0)
}

// readLoop reads and handles packets; buf[:n] holds bytes not yet handled.
// On a plain socket with nothing pending it holds no buffer while it waits
// (see readpool.go). After packets whose handling runs deep (CONNECT,
// SUBSCRIBE) it goes on on a new goroutine: a parked goroutine keeps the
// largest stack it ever had, and thousands of idle devices would each keep
// one.
func (c *conn) readLoop(buf []byte, n int) {
	handedOver := false
	var pooled *[]byte // the buffer of readPool buf is, while it is one
	defer func() {
		if pooled != nil {
			readPool.Put(pooled)
		}
		if !handedOver {
			c.teardown()
			c.l.wg.Done()
		}
	}()
	for {
		var r int
		var err error
		if n == 0 && c.raw != nil {
			c.idleWait = c.v != 0 && !c.noPark && c.l.idle.usable()
			if c.idleWait {
				d := time.Now().Add(idleGrace).UnixNano()
				if ka := c.kaDeadline.Load(); ka != 0 {
					d = min(d, ka)
				}
				c.nc.SetReadDeadline(time.Unix(0, d))
			}
			pooled, r, err = readPooled(c.raw)
			if pooled != nil {
				buf = *pooled
			}
		} else {
			if c.idleWait {
				c.idleWait = false
				c.restoreDeadline()
			}
			if buf == nil {
				buf = make([]byte, minReadBuf)
			} else if n == len(buf) {
				buf = append(buf, make([]byte, len(buf))...)
			}
			r, err = c.nc.Read(buf[n:])
		}
		if r > 0 && c.keepAlive > 0 {
			c.kaDeadline.Store(time.Now().Add(c.keepAlive * 3 / 2).UnixNano())
			if !c.idleWait {
				c.restoreDeadline()
			}
		}
		n += r
		off := 0
		for off < n {
			size, ferr := mqtt.Frame(buf[off:n], c.l.opts.MaxPacketSize)
			if ferr != nil {
				c.fail(ferr)
				return
			}
			if size == 0 {
				break
			}
			if err := c.handle(buf[off : off+size]); err != nil {
				if err != errClose {
					c.fail(err)
				}
				return
			}
			off += size
		}
		switch {
		case pooled != nil:
			// The rest of a packet stays in a buffer of the connection's
			// own; the pooled one goes back.
			var own []byte
			if off < n {
				own = make([]byte, max(minReadBuf, 2*(n-off)))
				copy(own, buf[off:n])
			}
			n -= off
			buf = own
			readPool.Put(pooled)
			pooled = nil
		default:
			n = copy(buf, buf[off:n])
			if n == 0 && c.raw != nil {
				buf = nil
			} else if n == 0 && len(buf) > maxIdleBuf {
				buf = make([]byte, minReadBuf)
			}
		}
		if err != nil {
			var ne net.Error
			timeout := errors.As(err, &ne) && ne.Timeout()
			if timeout && c.idleWait && n == 0 {
				if ka := c.kaDeadline.Load(); ka == 0 || time.Now().UnixNano() < ka {
					if c.park() {
						handedOver = true
						return
					}
					continue
				}
			}
			if c.v != 0 && c.keepAlive > 0 {
				if timeout {
					c.debug("mqtt keep alive expired")
					c.shutdown(mqtt.KeepAliveTimeout)
				}
			}
			return
		}
		if c.shed {
			c.shed = false
			handedOver = true
			go c.readLoop(buf, n)
			return
		}
	}
}

// restoreDeadline sets the read deadline to the keep alive's.
func (c *conn) restoreDeadline() {
	var d time.Time
	if ka := c.kaDeadline.Load(); ka != 0 {
		d = time.Unix(0, ka)
	}
	c.nc.SetReadDeadline(d)
}

// park hands the quiet socket to the listener's poller, with a timer for
// the keep alive; false: it did not take it, the read loop goes on.
func (c *conn) park() bool {
	if ka := c.kaDeadline.Load(); ka != 0 {
		d := time.Until(time.Unix(0, ka))
		if c.kaTimer == nil {
			c.kaTimer = time.AfterFunc(d, c.expireParked)
		} else {
			c.kaTimer.Reset(d)
		}
	}
	if c.l.idle.park(c) {
		return true
	}
	if c.kaTimer != nil {
		c.kaTimer.Stop()
	}
	c.noPark, c.idleWait = true, false
	c.restoreDeadline()
	return false
}

// resume runs a new read loop for a connection taken from the poller.
func (c *conn) resume() {
	if c.kaTimer != nil {
		c.kaTimer.Stop()
	}
	go c.readLoop(nil, 0)
}

// expireParked ends a parked connection whose keep alive ran out, as the
// read loop does for one that is reading.
func (c *conn) expireParked() {
	if c.l.idle.take(c.id, true) == nil {
		return // woken meanwhile, or not yet due
	}
	c.debug("mqtt keep alive expired")
	c.shutdown(mqtt.KeepAliveTimeout)
	c.teardown()
	c.l.wg.Done()
}

// fail answers a packet the codec or the session refused: before CONNECT
// with a CONNACK, after it with an MQTT 5 DISCONNECT; a 3.1.1 client is
// just disconnected [MQTT-4.8.0-1].
func (c *conn) fail(err error) {
	code := mqtt.MalformedPacket
	var me *mqtt.Error
	if errors.As(err, &me) {
		code = me.Code
	}
	c.debug("mqtt protocol error", "error", err)
	if c.v == 0 {
		return
	}
	c.shutdown(code)
}

// shutdown sends an MQTT 5 client a DISCONNECT with code and closes the
// connection once it is written.
func (c *conn) shutdown(code byte) {
	if c.v == mqtt.V5 {
		c.send(&mqtt.Disconnect{Kind: mqtt.DISCONNECT, Code: code, Form: -1})
	}
	c.closeAfterFlush()
}

// handle dispatches one packet.
func (c *conn) handle(pkt []byte) error {
	switch pkt[0] >> 4 {
	case mqtt.CONNECT, mqtt.SUBSCRIBE, mqtt.UNSUBSCRIBE:
		c.shed = true // they run deep: authentication, the subject index
	}
	if c.v == 0 {
		return c.connect(pkt)
	}
	p, err := mqtt.Decode(pkt, c.v)
	if err != nil {
		return err
	}
	switch p := p.(type) {
	case *mqtt.Publish:
		return c.publish(p)
	case *mqtt.Ack:
		return c.s.acked(c, p)
	case *mqtt.Subscribe:
		return c.subscribe(p)
	case *mqtt.Unsubscribe:
		return c.unsubscribe(p)
	case *mqtt.Simple:
		switch p.Kind {
		case mqtt.PINGREQ:
			c.send(&mqtt.Simple{Kind: mqtt.PINGRESP})
			return nil
		case mqtt.DISCONNECT:
			c.disconnected(mqtt.Success, nil)
			return errClose
		}
	case *mqtt.Disconnect:
		if p.Kind == mqtt.DISCONNECT {
			if p.Props.Has(mqtt.PropSessionExpiry) && c.s.expiryAtConnect == 0 && p.Props.Num(mqtt.PropSessionExpiry, 0) != 0 {
				// [MQTT-3.14.2-2]
				return &mqtt.Error{Code: mqtt.ProtocolError, Msg: "session expiry set on DISCONNECT after 0 on CONNECT"}
			}
			c.disconnected(p.Code, p.Props)
			return errClose
		}
	}
	return &mqtt.Error{Code: mqtt.ProtocolError, Msg: "unexpected packet"}
}

// send queues a packet; one larger than the client's Maximum Packet Size
// is not sent [MQTT-3.1.2-24] and false is returned. On a connection that
// is closing nothing is sent, but true is returned: a QoS 1 or 2 message
// then stays in flight and goes again when the client reconnects.
func (c *conn) send(p mqtt.Packet) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return true
	}
	start := len(c.out)
	c.out = p.Append(c.out, c.v)
	if c.maxOut > 0 && len(c.out)-start > c.maxOut {
		c.out = c.out[:start]
		c.mu.Unlock()
		return false
	}
	slow := len(c.out) > c.l.opts.MaxPending
	c.kickLocked()
	c.mu.Unlock()
	if slow {
		c.l.slow.Add(1)
		c.l.log.Warn("mqtt slow consumer: pending bytes over max_pending, closing", c.attrs()...)
		c.closeNow()
	}
	return true
}

// kickLocked starts the write loop if it is not running.
func (c *conn) kickLocked() {
	if !c.writing && !c.closed {
		c.writing = true
		go c.writeLoop()
	}
}

func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		if len(c.out) == 0 || c.closed {
			c.writing = false
			closeNow := c.closing && !c.closed
			c.mu.Unlock()
			if closeNow {
				c.closeNow()
			}
			return
		}
		buf := c.out
		c.out = c.spare[:0]
		c.mu.Unlock()
		c.nc.SetWriteDeadline(time.Now().Add(c.l.opts.WriteDeadline))
		_, err := c.nc.Write(buf)
		c.mu.Lock()
		if cap(buf) <= maxIdleBuf*4 {
			c.spare = buf[:0]
		} else {
			c.spare = nil
		}
		c.mu.Unlock()
		if err != nil {
			c.closeNow()
		}
	}
}

// closeAfterFlush closes the connection once what is queued is written.
func (c *conn) closeAfterFlush() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	if c.writing {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.closeNow()
}

// closeNow closes the socket, which ends the read loop.
func (c *conn) closeNow() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closing = true, true
	c.out = nil
	c.mu.Unlock()
	c.nc.Close()
	if p := c.l.idle.take(c.id, false); p != nil {
		p.resume() // its read finds the socket closed and tears it down
	}
}

// teardown runs when the read loop ends: the session is detached (its will
// scheduled unless the client disconnected normally) and the broker session
// closed.
func (c *conn) teardown() {
	if c.s != nil {
		c.s.detach(c)
	}
	c.closeAfterFlush()
	c.l.removeConn(c)
}

// disconnected handles a client's DISCONNECT: the will is dropped unless the
// reason asks for it, and an MQTT 5 client may change its session expiry.
func (c *conn) disconnected(code byte, props mqtt.Props) {
	if code != mqtt.DisconnectWithWill {
		c.will = nil // [MQTT-3.1.2-10]
	}
	if props.Has(mqtt.PropSessionExpiry) {
		c.s.setExpiry(c.l.capExpiry(props.Num(mqtt.PropSessionExpiry, 0)))
	}
	c.closeAfterFlush()
}

// queueAck queues an inbound acknowledgement that is sent, in order
// [MQTT-4.6.0-2], once the store confirms what the publish changed; the
// function it returns marks it ready. A store failure is a PUBACK or PUBREC
// with Unspecified error for an MQTT 5 client; a 3.1.1 client, which has no
// way to be told, is disconnected without the acknowledgement and sends the
// message again when it reconnects.
func (c *conn) queueAck(p mqtt.Ack) (done func(error)) {
	a := &ack{pkt: p}
	c.mu.Lock()
	c.acks = append(c.acks, a)
	c.mu.Unlock()
	return func(err error) {
		c.mu.Lock()
		a.done = true
		if err != nil {
			if c.v != mqtt.V5 {
				c.mu.Unlock()
				c.l.log.Warn("mqtt store failed; disconnecting the client so it publishes again", c.attrs("error", err)...)
				c.closeNow()
				return
			}
			a.pkt.Code = mqtt.UnspecifiedError
		}
		n := 0
		for n < len(c.acks) && c.acks[n].done {
			if !c.closing {
				c.out = c.acks[n].pkt.Append(c.out, c.v)
			}
			n++
		}
		if n > 0 {
			c.acks = c.acks[:copy(c.acks, c.acks[n:])]
			c.kickLocked()
		}
		c.mu.Unlock()
	}
}
