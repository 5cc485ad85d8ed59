package server

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strconv"
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
	status int
	ctype  string
	body   []byte
}

// httpRoute answers a GET to one path; query is the parsed query string.
type httpRoute func(query url.Values) httpReply

const (
	httpMaxHeader    = 8 << 10 // request line and headers together
	httpMaxConns     = 32      // concurrent monitoring connections
	httpReadTimeout  = 5 * time.Second
	httpIdleTimeout  = 60 * time.Second
	httpWriteTimeout = 10 * time.Second
)

var httpStatusText = map[int]string{
	200: "OK",
	400: "Bad Request",
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

	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
	wg    sync.WaitGroup
}

func newHTTPServer(routes map[string]httpRoute, log *slog.Logger) *httpServer {
	return &httpServer{
		routes:       routes,
		log:          log,
		readTimeout:  httpReadTimeout,
		idleTimeout:  httpIdleTimeout,
		writeTimeout: httpWriteTimeout,
		conns:        make(map[net.Conn]struct{}),
	}
}

// serve accepts connections on ln until close.
func (h *httpServer) serve(ln net.Listener) {
	h.mu.Lock()
	h.ln = ln
	h.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			h.mu.Lock()
			done := h.done
			h.mu.Unlock()
			if !done {
				h.log.Error("monitoring server stopped", "error", err)
			}
			return
		}
		h.mu.Lock()
		if h.done {
			h.mu.Unlock()
			c.Close()
			return
		}
		if len(h.conns) >= httpMaxConns {
			h.mu.Unlock()
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write(httpResponse(httpText(503, "too many monitoring connections\n"), false, true))
			c.Close()
			continue
		}
		h.conns[c] = struct{}{}
		h.wg.Add(1)
		h.mu.Unlock()
		go h.handle(c)
	}
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
		delete(h.conns, c)
		h.mu.Unlock()
		h.wg.Done()
	}()
	br := bufio.NewReaderSize(c, 1024)
	timeout := h.readTimeout
	for {
		c.SetReadDeadline(time.Now().Add(timeout))
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
		if rep.status != 200 && rep.status != 404 && rep.status != 503 {
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
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return httpText(400, "bad query string: "+err.Error()+"\n")
	}
	return f(q)
}

type httpRequest struct {
	method, target string
	head           bool // HEAD: headers only
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
	if closing {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if !head {
		b = append(b, rep.body...)
	}
	return b
}
