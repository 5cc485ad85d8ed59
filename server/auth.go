package server

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/wrenmq/wren/auth"
)

// authState is the server's authentication configuration.
type authState struct {
	// mu is held for reading while a CONNECT is checked and its identity
	// stored, and for writing while Reload swaps cur, so that every
	// connection Reload does not see as authenticated will be checked
	// against the new configuration.
	mu sync.RWMutex
	// cur is nil when no authentication is configured.
	cur atomic.Pointer[auth.Authenticator]
}

// clientAuth is what a connection authenticated with and as, kept so that
// Reload can check the same credentials against a new configuration. It is
// guarded by client.mu.
type clientAuth struct {
	done  bool // CONNECT accepted
	timed bool // accepted while authentication was required: the auth timeout runs
	// started is set once the connection's loops run (after a TLS
	// handshake, if any); before, it has done nothing and its socket
	// belongs to the handshake.
	started bool
	gen     uint64 // bumped by each accepted CONNECT
	creds   auth.ConnectCreds
	user    string
	// restored: a session opened as user without credentials (see
	// RestoreSession); a reload looks the user up again.
	restored bool
}

// authRequired reports whether clients must authenticate.
func (s *Server) authRequired() bool {
	a := s.auth.cur.Load()
	return a != nil && a.Required()
}

// nonceFor returns the nonce to put in c's INFO, or nil. It makes one the
// first time it is asked when the configuration has nkey users; INFO is
// built before the connection's loops start, so the read loop sees it.
func (s *Server) nonceFor(c *client) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nonce == nil {
		if a := s.auth.cur.Load(); a != nil && a.NeedsNonce() {
			c.nonce = a.NewNonce()
		}
	}
	return c.nonce
}

// authenticate checks c's credentials from CONNECT and stores the identity
// they map to. A failure is logged with its reason; the client only learns
// "Authorization Violation".
func (s *Server) authenticate(c *client, o *connectOpts) error {
	creds := auth.ConnectCreds{
		User:     o.User,
		Pass:     o.Pass,
		Token:    o.AuthToken,
		Nkey:     o.Nkey,
		Sig:      o.Sig,
		JWT:      o.JWT,
		TLSCerts: verifiedChain(c.tlsState),
	}
	s.auth.mu.RLock()
	defer s.auth.mu.RUnlock()
	id, err := checkCreds(s.auth.cur.Load(), creds, c.nonce)
	if err != nil {
		s.stats.authFailures.Add(1)
		s.log.Warn("authentication failed", "cid", c.cid, "remote", c.remote(), "name", o.Name, "reason", err)
		return errAuthViolation
	}
	c.setIdentity(creds, id)
	s.log.Debug("client authenticated", "cid", c.cid, "user", id.Name, "method", id.Method)
	return nil
}

// checkCreds authenticates creds with a, or admits anyone when a is nil.
func checkCreds(a *auth.Authenticator, creds auth.ConnectCreds, nonce []byte) (*auth.Identity, error) {
	if a == nil {
		return &auth.Identity{Method: auth.MethodNone}, nil
	}
	return a.Authenticate(creds, nonce)
}

// verifiedChain returns the client certificate chain the TLS handshake
// verified, or nil.
func verifiedChain(st *tls.ConnectionState) []*x509.Certificate {
	if st == nil || len(st.VerifiedChains) == 0 {
		return nil
	}
	return st.VerifiedChains[0]
}

// setIdentity records who the connection is and swaps in its permissions;
// subscriptions made under earlier permissions (a repeated CONNECT) are
// checked again.
func (c *client) setIdentity(creds auth.ConnectCreds, id *auth.Identity) {
	c.mu.Lock()
	c.auth = clientAuth{done: true, gen: c.auth.gen + 1, timed: c.auth.timed, started: c.auth.started, creds: creds, user: id.Name}
	if c.srv.sys != nil {
		c.sys.Store(c.srv.isSystemUser(id))
	}
	hasSubs := len(c.subs) > 0
	old := c.perms.Swap(id.Perms)
	c.mu.Unlock()
	if hasSubs && old != id.Perms {
		c.recheckSubs()
	}
}

// remote returns the client's address for logs.
func (c *client) remote() string {
	if c.host == "" {
		return ""
	}
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

// warnIfOpen warns when anyone who can reach the listener may connect and
// do anything: no authentication, no verified client certificates, and an
// address other than loopback.
func (s *Server) warnIfOpen() {
	if t := s.tlsNow(); s.authRequired() || (t != nil && t.config.ClientAuth == tls.RequireAndVerifyClientCert) {
		return
	}
	addr := s.Addr()
	if addr == nil {
		return
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err == nil && ap.Addr().IsLoopback() {
		return
	}
	s.log.Warn("NO AUTHENTICATION: any client that can reach this address may connect, publish and subscribe to every subject; configure [authorization] or listen on 127.0.0.1",
		"addr", addr.String())
}
