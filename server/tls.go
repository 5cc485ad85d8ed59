package server

import (
	"crypto/tls"
	"io"
	"net"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// tlsRecordHandshake is the first byte of a TLS ClientHello.
const tlsRecordHandshake = 0x16

// setupTLS runs before a TLS-enabled connection's loops start. With
// handshake-first it handshakes straight away; otherwise it sends INFO and
// looks at the client's first byte: a TLS handshake is completed, plain
// text is refused when TLS is required and served as is when it is not.
// It reports false when the connection must be dropped.
func (s *Server) setupTLS(c *client) bool {
	nc := c.nc
	to := s.opts.TLSTimeout
	if s.opts.TLSHandshakeFirst {
		return s.handshake(c, nc)
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
		if ne, ok := err.(net.Error); ok && ne.Timeout() && !s.opts.TLSRequired {
			return true // a quiet plain client
		}
		return false
	}
	pc := &prefixConn{Conn: nc, prefix: b[:n]}
	if b[0] == tlsRecordHandshake {
		return s.handshake(c, pc)
	}
	if s.opts.TLSRequired {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write(protocol.AppendErr(nil, errTLSRequired.text))
		lingerClose(nc)
		s.log.Debug("refused a plain connection: TLS required", "cid", c.cid)
		return false
	}
	c.nc = pc
	return true
}

func (s *Server) handshake(c *client, nc net.Conn) bool {
	tc := tls.Server(nc, s.opts.TLS)
	tc.SetDeadline(time.Now().Add(s.opts.TLSTimeout))
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
