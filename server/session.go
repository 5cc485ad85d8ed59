package server

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/protocol"
)

// kindSession is a connection of a client that speaks another protocol
// (MQTT), served by a listener outside this package.
const kindSession = kindInProc + 1

// Errors of OpenSession and of a Session's methods.
var (
	// ErrNotAuthorized: the credentials do not authenticate.
	ErrNotAuthorized = errors.New("not authorized")
	// ErrMaxConnections: the server holds max_connections already.
	ErrMaxConnections = errors.New(errMaxConnections.text)
	// ErrPermission: the user may not publish or subscribe to the subject.
	ErrPermission = errors.New("permissions violation")
)

// Session is a broker connection for a client that speaks another protocol
// on a socket of its own, such as an MQTT client: it authenticates with the
// same users as NATS clients, counts against max_connections, and publishes
// and subscribes under its user's permissions, which a reload re-checks.
// Its subscriptions deliver to handlers, which run on the publisher's
// goroutine with slices valid only during the call: copy, hand off, never
// block. Its methods are safe for concurrent use.
type Session struct {
	c    *client
	pool sync.Pool
	sid  atomic.Uint64
}

// SessionInfo describes who opens a session.
type SessionInfo struct {
	Name   string            // the client's id, for logs
	Lang   string            // the protocol, for logs ("mqtt")
	Remote net.Addr          // the client's address, or nil
	Creds  auth.ConnectCreds // what the client presented
	// OnClose is called once when the broker ends the session (a reload
	// that no longer admits its credentials, server shutdown), not when
	// the caller closes it. It must not block.
	OnClose func(reason string)
	// TLS: the client's socket is TLS (shown in /connz).
	TLS bool
}

// sessionConn is what monitoring shows of a session. offline (under
// Server.mu) is set once no client connection stands behind it: a restored
// session, or a persistent one whose client went away. An offline session
// is not a connection: it is not in /connz or the connection counts, and
// takes no max_connections slot.
type sessionConn struct {
	offline bool
	tls     bool
}

// isConn reports whether c is a client connection: a NATS client, or a
// session with its client connected. Server.mu must be held.
func (c *client) isConn() bool {
	return c.kind == kindClient || c.kind == kindSession && !c.sess.offline
}

// OpenSession authenticates a client and opens its session.
func (s *Server) OpenSession(info SessionInfo) (*Session, error) {
	return s.openSession(info, "", false)
}

// RestoreSession opens a session as the configured user called user (""
// for token or unauthenticated clients), without credentials: for state
// the server kept across a restart, such as an MQTT persistent session
// whose subscriptions must receive messages before its client is back. A
// reload re-checks that the user still exists, and applies its new
// permissions.
func (s *Server) RestoreSession(info SessionInfo, user string) (*Session, error) {
	return s.openSession(info, user, true)
}

func (s *Server) openSession(info SessionInfo, user string, restored bool) (*Session, error) {
	s.auth.mu.RLock()
	var id *auth.Identity
	var err error
	if restored {
		id, err = s.auth.cur.Load().Lookup(user)
	} else {
		id, err = checkCreds(s.auth.cur.Load(), info.Creds, nil)
	}
	s.auth.mu.RUnlock()
	remote := ""
	if info.Remote != nil {
		remote = info.Remote.String()
	}
	if err != nil {
		s.log.Warn("authentication failed", "protocol", info.Lang, "remote", remote, "name", info.Name, "reason", err)
		return nil, ErrNotAuthorized
	}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if max := s.lim().maxConns; !restored && s.nconns >= max {
		s.mu.Unlock()
		s.log.Warn("maximum connections reached, refusing a client", "max", max, "protocol", info.Lang, "remote", remote)
		return nil, ErrMaxConnections
	}
	s.nextCID++
	c := newClient(s, nil, s.nextCID, kindSession)
	c.opts = connectOpts{Echo: true, Headers: true, Name: info.Name, Lang: info.Lang}
	c.connected = true
	c.onClose = info.OnClose
	c.sess = &sessionConn{offline: restored, tls: info.TLS}
	if a, ok := info.Remote.(*net.TCPAddr); ok {
		c.host, c.port = a.IP.String(), a.Port
	}
	s.clients[c.cid] = c
	if !restored {
		s.nconns++
		s.noteConns()
	}
	s.mu.Unlock()
	if !restored {
		s.stats.totalConns.Add(1)
	}
	c.setIdentity(info.Creds, id)
	if restored {
		c.mu.Lock()
		c.auth.restored = true
		c.mu.Unlock()
	}
	ss := &Session{c: c}
	ss.pool.New = func() any {
		p := &producer{}
		p.init(c)
		return p
	}
	return ss, nil
}

// User is the name the session authenticated as ("" without users).
func (ss *Session) User() string { return ss.c.userName() }

// CanPublish reports whether the session's user may publish to subject.
func (ss *Session) CanPublish(subject []byte) bool {
	ck := ss.c.perms.Load()
	return ck == nil || ck.CanPublish(subject)
}

// MayReceive reports whether a message on subject (a literal) may be
// delivered to the session's user: retained messages and stored session
// messages are checked with it before they are replayed.
func (ss *Session) MayReceive(subject []byte) bool {
	ck := ss.c.perms.Load()
	return ck == nil || ck.CanSubscribe(subject, nil) && !ck.DeniesDelivery(subject, nil)
}

// Publish sends a message as any client would, under the session's publish
// permissions (ErrPermission). The bytes are copied before it returns.
func (ss *Session) Publish(subject, reply, header, data []byte) error {
	if !protocol.ValidLiteralBytes(subject) || len(reply) > 0 && !protocol.ValidLiteralBytes(reply) {
		return ErrInvalidSubject
	}
	if !ss.CanPublish(subject) {
		ss.c.srv.log.Debug("publish violation", "cid", ss.c.cid, "user", ss.User(), "subject", string(subject))
		return ErrPermission
	}
	c := ss.c
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	c.inMsgs.Add(1)
	c.inBytes.Add(int64(len(header) + len(data)))
	p := ss.pool.Get().(*producer)
	p.publish(subject, reply, header, data)
	p.flush()
	ss.pool.Put(p)
	return nil
}

// Subscribe delivers messages on subject (a filter) to h, one member of a
// queue group at a time when queue is set. With noLocal, messages the
// session publishes itself are not delivered to this subscription. It
// returns the subscription (see Subscription.Unsubscribe and Move).
func (ss *Session) Subscribe(subject, queue string, noLocal bool, h func(m *protocol.Msg)) (*Subscription, error) {
	if !protocol.ValidFilter(subject) || queue != "" && !protocol.ValidLiteral(queue) {
		return nil, ErrInvalidSubject
	}
	c := ss.c
	sid := strconv.FormatUint(ss.sid.Add(1), 10)
	sub := &subscription{client: c, subject: subject, queue: queue, sid: sid, handler: h, noLocal: noLocal}
	ck := c.perms.Load()
	if ck != nil {
		if !ck.CanSubscribe(bytesOf(subject), bytesOf(queue)) {
			c.srv.log.Debug("subscription violation", "cid", c.cid, "user", ss.User(), "subject", subject, "queue", queue)
			return nil, ErrPermission
		}
		sub.filter.Store(ck.SubscribeDeniedOverlap(bytesOf(subject), bytesOf(queue)))
	}
	if err := c.addSub(sub); err != nil {
		if err == errClosing {
			return nil, ErrClosed
		}
		return nil, err
	}
	if c.perms.Load() != ck {
		c.recheckSub(sub)
	}
	return &Subscription{sub: sub}, nil
}

// Offline records that the session's client connection is gone while the
// session goes on (an MQTT persistent session keeps its subscriptions for
// the client's return): it leaves /connz and the connection counts, and
// frees its max_connections slot. It cannot come back online; the client's
// next connection opens a session of its own.
func (ss *Session) Offline() {
	c := ss.c
	s := c.srv
	s.mu.Lock()
	if !c.sess.offline {
		c.sess.offline = true
		if _, ok := s.clients[c.cid]; ok {
			s.nconns--
			s.noteConns()
		}
	}
	s.mu.Unlock()
}

// Close ends the session and its subscriptions; OnClose is not called.
func (ss *Session) Close() {
	c := ss.c
	c.mu.Lock()
	c.onClose = nil
	c.mu.Unlock()
	c.teardown()
}
