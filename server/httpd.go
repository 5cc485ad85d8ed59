package server

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A read-only HTTP/1.1 server for the monitoring endpoints. It answers GET
// and HEAD with a complete body and a Content-Length, keeps connections
// alive for scrapers that reuse them, and refuses everything else with the
// matching status. It replaces net/http, which took a megabyte of the
// gateway binary and another of its idle memory for features monitoring
// never uses (request bodies, chunking, HTTP/2, multipart, redirects).

// httpReply is what a route answers.
type httpReply struct {
	status  int
	ctype   string
	body    []byte
	headers string // extra header lines, each ending in CRLF
}

// httpRoute answers a GET to one path; query is the parsed query string.
type httpRoute func(query url.Values) httpReply

const (
	httpMaxHeader    = 8 << 10 // request line and headers together
	httpMaxConns     = 32      // concurrent monitoring connections
	httpMaxPerRemote = 8       // of which from one remote address
	httpReadTimeout  = 5 * time.Second
	httpIdleTimeout  = 60 * time.Second
	httpWriteTimeout = 10 * time.Second
	httpAcceptRetry  = time.Second // longest wait after a failed accept
)

var httpStatusText = map[int]string{
	200: "OK",
	400: "Bad Request",
	401: "Unauthorized",
	404: "Not Found",
	405: "Method Not Allowed",
	413: "Content Too Large",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error",
	503: "Service Unavailable",
	505: "HTTP Version Not Supported",
}

type httpServer struct {
	routes map[string]httpRoute
	log    *slog.Logger

	// timeouts; tests shorten them
	readTimeout, idleTimeout, writeTimeout time.Duration

	// token, when set, must come as "Authorization: Bearer <token>" on
	// every path but open ones.
	token string
	open  map[string]bool

	ln        net.Listener
	mu        sync.Mutex
	conns     map[net.Conn]*httpConn
	perRemote map[string]int
	done      bool
	wg        sync.WaitGroup
}

// httpConn is what the accept loop knows of an open connection: whom it
// is from and whether it waits for a request (idle) or is in one.
type httpConn struct {
	remote    string
	idle      bool
	idleSince time.Time
}

func newHTTPServer(routes map[string]httpRoute, log *slog.Logger) *httpServer {
	return &httpServer{
		routes:       routes,
		log:          log,
		readTimeout:  httpReadTimeout,
		idleTimeout:  httpIdleTimeout,
		writeTimeout: httpWriteTimeout,
		conns:        make(map[net.Conn]*httpConn),
		perRemote:    make(map[string]int),
	}
}

// remoteHost is the address part of a connection's remote address: the
// unit the per-remote bound counts.
func remoteHost(c net.Conn) string {
	a := c.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return a
}

// serve accepts connections on ln until close. A failed accept (out of
// file descriptors, say) is logged once and retried after a pause that
// doubles up to httpAcceptRetry, so monitoring comes back by itself once
// descriptors are free again.
func (h *httpServer) serve(ln net.Listener) {
	h.mu.Lock()
	h.ln = ln
	h.mu.Unlock()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			h.mu.Lock()
			done := h.done
			h.mu.Unlock()
			if done || errors.Is(err, net.ErrClosed) {
				return
			}
			if delay == 0 {
				h.log.Error("monitoring accept failed; retrying", "error", err)
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > httpAcceptRetry {
				delay = httpAcceptRetry
			}
			time.Sleep(delay)
			continue
		}
		if delay != 0 {
			h.log.Info("monitoring accepts connections again")
			delay = 0
		}
		h.admit(c)
	}
}

// admit serves c, or tells it 503 when it would pass the connection cap
// or the per-remote bound. Idle keep-alive connections give way first: the
// one idle longest (from c's own remote when that remote is at its bound)
// is closed to make room, so connections held open doing nothing never
// lock out a health check. Only when every counted connection is inside a
// request (which the read timeout bounds) is c refused.
func (h *httpServer) admit(c net.Conn) {
	remote := remoteHost(c)
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		c.Close()
		return
	}
	for h.perRemote[remote] >= httpMaxPerRemote || len(h.conns) >= httpMaxConns {
		only := ""
		if h.perRemote[remote] >= httpMaxPerRemote {
			only = remote
		}
		victim := h.longestIdle(only)
		if victim == nil {
			h.mu.Unlock()
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write(httpResponse(httpText(503, "too many monitoring connections\n"), false, true))
			c.Close()
			return
		}
		h.forget(victim)
		victim.Close()
	}
	// A new connection counts as inside its first request (bounded by the
	// read timeout); it is idle only between keep-alive requests.
	h.conns[c] = &httpConn{remote: remote}
	h.perRemote[remote]++
	h.wg.Add(1)
	h.mu.Unlock()
	go h.handle(c)
}

// longestIdle returns the connection idle longest, from remote only when
// it is set, or nil. Caller holds mu.
func (h *httpServer) longestIdle(remote string) net.Conn {
	var victim net.Conn
	var since time.Time
	for c, hc := range h.conns {
		if !hc.idle || (remote != "" && hc.remote != remote) {
			continue
		}
		if victim == nil || hc.idleSince.Before(since) {
			victim, since = c, hc.idleSince
		}
	}
	return victim
}

// forget stops counting c. Caller holds mu.
func (h *httpServer) forget(c net.Conn) {
	hc := h.conns[c]
	if hc == nil {
		return
	}
	delete(h.conns, c)
	if h.perRemote[hc.remote]--; h.perRemote[hc.remote] <= 0 {
		delete(h.perRemote, hc.remote)
	}
}

// setIdle records whether c waits for a request.
func (h *httpServer) setIdle(c net.Conn, idle bool) {
	h.mu.Lock()
	if hc := h.conns[c]; hc != nil {
		hc.idle = idle
		if idle {
			hc.idleSince = time.Now()
		}
	}
	h.mu.Unlock()
}

// close stops accepting, closes open connections and waits for them.
func (h *httpServer) close() {
	h.mu.Lock()
	h.done = true
	if h.ln != nil {
		h.ln.Close()
	}
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *httpServer) handle(c net.Conn) {
	defer func() {
		c.Close()
		h.mu.Lock()
		h.forget(c)
		h.mu.Unlock()
		h.wg.Done()
	}()
	br := bufio.NewReaderSize(c, 1024)
	timeout := h.readTimeout
	for {
		// Between keep-alive requests the connection is idle until the
		// first byte of the next; from then on the request has the read
		// timeout to arrive whole.
		c.SetReadDeadline(time.Now().Add(timeout))
		if _, err := br.Peek(1); err != nil {
			return
		}
		if timeout == h.idleTimeout {
			h.setIdle(c, false)
		}
		c.SetReadDeadline(time.Now().Add(h.readTimeout))
		req, status := readHTTPRequest(br)
		if status == -1 {
			return // closed, timed out or reset between requests
		}
		var rep httpReply
		if status != 0 {
			rep = httpText(status, httpStatusText[status]+"\n")
		} else {
			rep = h.route(req)
		}
		if rep.status != 200 && rep.status != 401 && rep.status != 404 && rep.status != 503 {
			// A refused request may have left a body or the rest of its
			// head unread: end the connection rather than parse it.
			req.keepAlive = false
		}
		c.SetWriteDeadline(time.Now().Add(h.writeTimeout))
		if _, err := c.Write(httpResponse(rep, req.head, !req.keepAlive)); err != nil {
			return
		}
		if !req.keepAlive {
			lingerClose(c)
			return
		}
		h.setIdle(c, true)
		timeout = h.idleTimeout
	}
}

func (h *httpServer) route(req httpRequest) httpReply {
	if req.method != "GET" && req.method != "HEAD" {
		return httpText(405, "only GET and HEAD are served here\n")
	}
	u, err := url.ParseRequestURI(req.target)
	if err != nil {
		return httpText(400, "bad request target\n")
	}
	f := h.routes[u.Path]
	if f == nil {
		return httpText(404, "404 page not found\n")
	}
	if h.token != "" && !h.open[u.Path] && !bearerMatches(req.auth, h.token) {
		return httpReply{status: 401, ctype: "text/plain; charset=utf-8", body: []byte("a bearer token is required: Authorization: Bearer <token>\n")}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return httpText(400, "bad query string: "+err.Error()+"\n")
	}
	return f(q)
}

type httpRequest struct {
	method, target string
	auth           string // the Authorization header
	head           bool   // HEAD: headers only
	keepAlive      bool
}

// readHTTPRequest reads a request line and its headers. It returns status
// 0 for a request to answer, an HTTP status for one to refuse (then the
// connection closes), or -1 when the peer went away before a request.
func readHTTPRequest(br *bufio.Reader) (httpRequest, int) {
	var req httpRequest
	budget := httpMaxHeader
	line, st := readHTTPLine(br, &budget)
	if st != 0 {
		if st == 400 && budget == httpMaxHeader {
			return req, -1 // nothing read at all
		}
		return req, st
	}
	parts := bytes.Split(line, []byte(" "))
	if len(parts) != 3 || len(parts[0]) == 0 || len(parts[1]) == 0 {
		return req, 400
	}
	req.method, req.target = string(parts[0]), string(parts[1])
	req.head = req.method == "HEAD"
	switch string(parts[2]) {
	case "HTTP/1.1":
		req.keepAlive = true
	case "HTTP/1.0":
	default:
		if !bytes.HasPrefix(parts[2], []byte("HTTP/")) {
			return req, 400
		}
		return req, 505
	}
	for {
		line, st = readHTTPLine(br, &budget)
		if st != 0 {
			return req, st
		}
		if len(line) == 0 {
			return req, 0
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return req, 400
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Connection")):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if bytes.EqualFold(tok, []byte("close")) {
					req.keepAlive = false
				} else if bytes.EqualFold(tok, []byte("keep-alive")) {
					req.keepAlive = true
				}
			}
		case bytes.EqualFold(name, []byte("Content-Length")):
			if n, err := strconv.ParseUint(string(value), 10, 63); err != nil {
				return req, 400
			} else if n > 0 {
				return req, 413 // nothing here takes a body
			}
		case bytes.EqualFold(name, []byte("Authorization")):
			req.auth = string(value)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return req, 413
		}
	}
}

// readHTTPLine reads one CRLF- (or LF-) terminated line, charging it to
// budget: 431 once the head outgrows it, 400 on a read error.
func readHTTPLine(br *bufio.Reader, budget *int) ([]byte, int) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return nil, 431
		}
		if err == nil {
			if line != nil {
				frag = append(line, frag...)
			}
			frag = bytes.TrimSuffix(frag[:len(frag)-1], []byte("\r"))
			return frag, 0
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, 400
		}
		line = append(line, frag...)
	}
}

// bearerMatches reports whether an Authorization header carries token, in
// time that does not depend on how much of it matches.
func bearerMatches(header, token string) bool {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(cred)), []byte(token)) == 1
}

func httpText(status int, body string) httpReply {
	return httpReply{status: status, ctype: "text/plain; charset=utf-8", body: []byte(body)}
}

// httpResponse encodes a complete response.
func httpResponse(rep httpReply, head, closing bool) []byte {
	text := httpStatusText[rep.status]
	if text == "" {
		text = "Status"
	}
	b := make([]byte, 0, 160+len(rep.body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(rep.status), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nDate: "...)
	b = time.Now().UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 GMT")
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, rep.ctype...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(rep.body)), 10)
	b = append(b, "\r\nCache-Control: no-store\r\n"...)
	if rep.status == 405 {
		b = append(b, "Allow: GET, HEAD\r\n"...)
	}
	b = append(b, rep.headers...)
	if rep.status == 401 {
		b = append(b, "WWW-Authenticate: Bearer realm=\"wren\"\r\n"...)
	}
	if closing {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if !head {
		b = append(b, rep.body...)
	}
	return b
}
