package server

import (
	"errors"
	"time"

	"github.com/wrenmq/wren/auth"
)

// limits are the options Reload may change. Connections read them through
// Server.lim without a lock; Reload replaces the whole value.
type limits struct {
	maxPayload     int // for connections accepted from now on
	maxControlLine int // for connections accepted from now on
	maxConns       int
	maxSubs        int
	maxPending     int64
	pingInterval   time.Duration
	maxPingsOut    int
	authTimeout    time.Duration
	trace          bool
}

func limitsOf(o *Options) *limits {
	return &limits{
		maxPayload:     o.MaxPayload,
		maxControlLine: o.MaxControlLine,
		maxConns:       o.MaxConnections,
		maxSubs:        o.MaxSubscriptions,
		maxPending:     o.MaxPending,
		pingInterval:   o.PingInterval,
		maxPingsOut:    o.MaxPingsOut,
		authTimeout:    o.AuthTimeout,
		trace:          o.Trace,
	}
}

// lim returns the limits in force.
func (s *Server) lim() *limits { return s.live.Load() }

// Reload applies new options to the running server without dropping the
// connections that are still allowed:
//
//   - Auth: every authenticated connection is checked again with the
//     credentials it connected with; a connection that has not sent
//     CONNECT yet is closed when the new configuration requires
//     authentication and the connection was accepted without it (see
//     reauthUnconnected). Those the new configuration refuses
//     get -ERR 'Authorization Violation' and are closed; the others get the
//     new permissions at once (a removed publish permission applies to the
//     next PUB), and their subscriptions that are no longer allowed are
//     removed with a permissions violation.
//   - Limits: max payload and max control line apply to connections
//     accepted from now on; max connections, max subscriptions (for new
//     SUBs), max pending, the ping interval (from the next ping), max pings
//     out and the auth timeout apply at once.
//   - TLS: when the server runs with TLS, opts.TLS (certificates, client
//     CAs, client verification), TLSRequired, TLSHandshakeFirst and
//     TLSTimeout apply to connections accepted from now on, and their INFO
//     says so. Open connections keep the session they negotiated. The
//     caller must not modify opts.TLS afterwards.
//
// Host, port, server name, write deadline, the logger and whether TLS is
// on at all keep the values the server started with; a change to the first
// three or to TLS on/off is logged as needing a restart. TLS on/off is
// fixed so that an edit that drops the certificate never quietly turns a
// secured port into a plain one, and so that a listener keeps one security
// mode for its lifetime. The log level is the logger's business (use a
// slog.LevelVar).
//
// An error (TLS required without a TLS configuration, a TLS configuration
// without a certificate, a server shut down) changes nothing.
func (s *Server) Reload(opts Options) error {
	o := opts.withDefaults()
	if err := checkTLS(&o); err != nil {
		return err
	}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return errors.New("server is shut down")
	}
	s.mu.Unlock()
	s.noteFixed(&o)
	s.reloadSystem(&o)

	s.live.Store(limitsOf(&o))
	s.reloadTLS(&o)
	s.auth.mu.Lock()
	s.auth.cur.Store(o.Auth)
	s.auth.mu.Unlock()

	closed := 0
	memo := make(map[memoKey]memoResult)
	for _, c := range s.clientList() {
		if !s.reauth(c, o.Auth, memo) {
			closed++
		}
	}
	s.log.Info("configuration reloaded", "auth_required", s.authRequired(), "closed_connections", closed)
	s.warnIfOpen()
	return nil
}

// noteFixed logs the options that only a restart can change.
func (s *Server) noteFixed(o *Options) {
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"host", o.Host != s.opts.Host},
		{"port", o.Port != s.opts.Port},
		{"server_name", o.ServerName != "" && o.ServerName != s.opts.ServerName},
	} {
		if f.changed {
			s.log.Warn("configuration change needs a restart to take effect; keeping the running value", "option", f.name)
		}
	}
	if (o.TLS == nil) != (s.opts.TLS == nil) {
		running := "off"
		if s.opts.TLS != nil {
			running = "on"
		}
		s.log.Warn("configuration change needs a restart to take effect; keeping the running value",
			"option", "tls", "reason", "turning TLS on or off needs a restart", "tls", running)
	}
}

// clientList returns the socket connections and sessions.
func (s *Server) clientList() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		if c.kind == kindClient || c.kind == kindSession {
			list = append(list, c)
		}
	}
	return list
}

// memoKey identifies credentials whose check does not depend on the
// connection (no nkey signature, no certificate), so that many connections
// of one user cost one (possibly bcrypt) check per reload.
type memoKey struct{ user, pass, token string }

type memoResult struct {
	id  *auth.Identity
	err error
}

// reauth checks an authenticated connection against a, closing it when it
// is no longer allowed. It reports false when it closed the connection.
func (s *Server) reauth(c *client, a *auth.Authenticator, memo map[memoKey]memoResult) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return true
	}
	if !c.auth.done {
		c.mu.Unlock()
		return s.reauthUnconnected(c, a)
	}
	creds, nonce, gen, name := c.auth.creds, c.nonce, c.auth.gen, c.opts.Name
	restored, user := c.auth.restored, c.auth.user
	c.mu.Unlock()

	var id *auth.Identity
	var err error
	if restored {
		id, err = a.Lookup(user)
	} else if creds.Nkey == "" && creds.TLSCerts == nil && a != nil {
		k := memoKey{creds.User, creds.Pass, creds.Token}
		r, ok := memo[k]
		if !ok {
			r.id, r.err = a.Authenticate(creds, nonce)
			memo[k] = r
		}
		id, err = r.id, r.err
		if id != nil && ok {
			id = id.Clone()
		}
	} else {
		id, err = checkCreds(a, creds, nonce)
	}

	c.mu.Lock()
	if c.closed || c.auth.gen != gen {
		// Closed meanwhile, or a new CONNECT was checked against the new
		// configuration already.
		c.mu.Unlock()
		return true
	}
	if err != nil {
		c.mu.Unlock()
		s.log.Warn("closing connection no longer allowed by the new configuration", "cid", c.cid, "remote", c.remote(), "name", name, "reason", err)
		c.closeWithErr(errAuthViolation.text, errAuthViolation.text)
		return false
	}
	c.auth.user = id.Name
	if s.sys != nil {
		c.sys.Store(s.isSystemUser(id))
	}
	old := c.perms.Swap(id.Perms)
	c.mu.Unlock()
	if old != id.Perms {
		c.recheckSubs()
	}
	return true
}

// reauthUnconnected applies a new authentication configuration a to a
// connection that has not sent CONNECT. One accepted while authentication
// was off may have subscribed and published without credentials; when a
// requires them it gets -ERR 'Authorization Violation' and is closed, as
// nats-server closes every connection the new configuration does not
// authorize. One accepted while authentication was on could do nothing
// before CONNECT and its CONNECT is checked against a, so it keeps its
// auth timeout. When a requires nothing, that timeout no longer applies.
// It reports false when it closed the connection.
func (s *Server) reauthUnconnected(c *client, a *auth.Authenticator) bool {
	required := a != nil && a.Required()
	c.mu.Lock()
	if c.closed || c.auth.done {
		c.mu.Unlock()
		return true
	}
	timed, started := c.auth.timed, c.auth.started
	tmr := c.authTmr
	if !required {
		c.auth.timed = false
	}
	c.mu.Unlock()
	switch {
	case !started:
		// Still in its TLS setup: its loops start under the new
		// configuration (with an auth timeout if it requires one).
		return true
	case !required:
		if tmr != nil {
			tmr.Stop()
		}
		return true
	case timed:
		return true
	}
	s.log.Warn("closing connection that has not authenticated: the new configuration requires authentication", "cid", c.cid, "remote", c.remote())
	c.closeWithErr(errAuthViolation.text, errAuthViolation.text)
	return false
}
