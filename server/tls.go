package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// tlsRecordHandshake is the first byte of a TLS ClientHello.
const tlsRecordHandshake = 0x16

// tlsSettings are the TLS options new connections get. Reload replaces the
// whole value; a connection reads it once, when it is accepted, and keeps
// the session it negotiated whatever is reloaded later.
type tlsSettings struct {
	config         *tls.Config
	required       bool
	handshakeFirst bool
	timeout        time.Duration
}

// tlsSettingsOf returns o's TLS settings, or nil when TLS is off.
func tlsSettingsOf(o *Options) *tlsSettings {
	if o.TLS == nil {
		return nil
	}
	return &tlsSettings{
		config:         o.TLS,
		required:       o.TLSRequired,
		handshakeFirst: o.TLSHandshakeFirst,
		timeout:        o.TLSTimeout,
	}
}

// verify reports whether clients are asked for a certificate that is
// verified when given (INFO's tls_verify).
func (t *tlsSettings) verify() bool {
	return t.config.ClientAuth >= tls.VerifyClientCertIfGiven
}

// tlsNow returns the TLS settings in force, nil when TLS is off.
func (s *Server) tlsNow() *tlsSettings { return s.tlsLive.Load() }

// checkTLS rejects TLS options that cannot serve a handshake.
func checkTLS(o *Options) error {
	if o.TLS == nil {
		if o.TLSRequired {
			return errors.New("tls required but no TLS configuration given")
		}
		return nil
	}
	c := o.TLS
	if len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil {
		return errors.New("tls configuration has no server certificate")
	}
	return nil
}

// reloadTLS gives new connections o's TLS settings. Whether TLS is on at
// all stays as the server started (noteFixed logs such a change).
func (s *Server) reloadTLS(o *Options) {
	if s.tlsNow() == nil || o.TLS == nil {
		return
	}
	t := tlsSettingsOf(o)
	s.tlsLive.Store(t)
	attrs := []any{"verify", t.verify(), "required", t.required || t.handshakeFirst, "handshake_first", t.handshakeFirst}
	if leaf := leafOf(t.config); leaf != nil {
		attrs = append(attrs, "subject", leaf.Subject.String(), "issuer", leaf.Issuer.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	s.log.Info("TLS configuration reloaded for new connections", attrs...)
}

// leafOf returns the first server certificate of c, or nil.
func leafOf(c *tls.Config) *x509.Certificate {
	if len(c.Certificates) == 0 || len(c.Certificates[0].Certificate) == 0 {
		return nil
	}
	if leaf := c.Certificates[0].Leaf; leaf != nil {
		return leaf
	}
	leaf, err := x509.ParseCertificate(c.Certificates[0].Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

// setupTLS runs before a TLS-enabled connection's loops start, with the
// settings in force when it was accepted. With handshake-first it
// handshakes straight away; otherwise it sends INFO and looks at the
// client's first byte: a TLS handshake is completed, plain text is refused
// when TLS is required and served as is when it is not. It reports false
// when the connection must be dropped.
func (s *Server) setupTLS(c *client, t *tlsSettings) bool {
	nc := c.nc
	to := t.timeout
	if t.handshakeFirst {
		return s.handshake(c, nc, t)
	}
	nc.SetWriteDeadline(time.Now().Add(to))
	if _, err := nc.Write(protocol.AppendInfo(nil, s.infoJSON(c))); err != nil {
		return false
	}
	c.tlsInfoSent = true
	wait := to
	if at := s.lim().authTimeout; at > wait {
		wait = at
	}
	nc.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	n, err := nc.Read(b[:])
	nc.SetReadDeadline(time.Time{})
	if err != nil && n == 0 {
		if ne, ok := err.(net.Error); ok && ne.Timeout() && !t.required {
			return true // a quiet plain client
		}
		return false
	}
	pc := &prefixConn{Conn: nc, prefix: b[:n]}
	if b[0] == tlsRecordHandshake {
		return s.handshake(c, pc, t)
	}
	if t.required {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write(protocol.AppendErr(nil, errTLSRequired.text))
		lingerClose(nc)
		s.log.Debug("refused a plain connection: TLS required", "cid", c.cid)
		return false
	}
	c.nc = pc
	return true
}

func (s *Server) handshake(c *client, nc net.Conn, t *tlsSettings) bool {
	tc := tls.Server(nc, t.config)
	tc.SetDeadline(time.Now().Add(t.timeout))
	if err := tc.Handshake(); err != nil {
		s.log.Debug("TLS handshake failed", "cid", c.cid, "error", err)
		return false
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.tlsState = &st
	c.nc = tc
	return true
}

// lingerClose ends a connection the server refused after writing its
// reason: it closes the sending side and reads what the client had already
// sent, for a moment, before the caller closes the socket. Closing with
// unread input would reset the connection, and a reset can destroy the
// reason before the client reads it.
func lingerClose(nc net.Conn) {
	cw, ok := nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	nc.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
}

// prefixConn replays bytes already read before reading from the conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
