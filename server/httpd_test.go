package server

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

func startHTTP(t *testing.T, tune func(*httpServer)) (*httpServer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newHTTPServer(map[string]httpRoute{
		"/echo": func(q url.Values) httpReply { return httpText(200, "n="+q.Get("n")+"\n") },
	}, slog.New(slog.DiscardHandler))
	if tune != nil {
		tune(h)
	}
	go h.serve(ln)
	t.Cleanup(h.close)
	return h, ln.Addr().String()
}

// exchange writes req on a fresh connection and returns everything the
// server sends until it closes the connection.
func exchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the reply to %.60q: %v (got %.200q)", req, err, b)
	}
	return string(b)
}

func TestHTTPRefusesWhatItDoesNotServe(t *testing.T) {
	_, addr := startHTTP(t, nil)
	cases := []struct{ name, req, status string }{
		{"GET", "GET /echo?n=7 HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
		{"LF only", "GET /echo?n=7 HTTP/1.0\n\n", "HTTP/1.1 200 OK\r\n"},
		{"unknown path", "GET /other HTTP/1.0\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
		{"POST", "POST /echo HTTP/1.0\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n"},
		{"body", "GET /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 413 Content Too Large\r\n"},
		{"chunked", "GET /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 413 Content Too Large\r\n"},
		{"bad length", "GET /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"garbage line", "HELLO\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"not HTTP", "GET / SMTP/1.0\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"HTTP/2", "GET /echo HTTP/2.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
		{"bad header", "GET /echo HTTP/1.1\r\nno colon here\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"bad target", "GET ht!tp://%zz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"bad query", "GET /echo?n=%zz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"huge header", "GET /echo HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
		{"many headers", "GET /echo HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 2000) + "\r\n", "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, addr, tc.req)
			if !strings.HasPrefix(got, tc.status) {
				t.Fatalf("reply to %.60q = %.80q; want status line %q", tc.req, got, tc.status)
			}
			if tc.status == "HTTP/1.1 200 OK\r\n" {
				if !strings.HasSuffix(got, "\r\n\r\nn=7\n") || !strings.Contains(got, "Content-Length: 4\r\n") {
					t.Errorf("reply %q; want body n=7 with its length", got)
				}
				return
			}
			// Every refusal closes: exchange returned, so the server did.
			if !strings.Contains(got, "Connection: close\r\n") {
				t.Errorf("refusal %q does not announce the close", got)
			}
		})
	}
}

// HTTP/1.1 keeps the connection for the next request; HEAD gets the
// headers without the body; "Connection: close" ends it.
func TestHTTPKeepAliveAndHead(t *testing.T) {
	_, addr := startHTTP(t, nil)
	got := exchange(t, addr, "GET /echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"HEAD /echo?n=22 HTTP/1.1\r\n\r\n"+
		"GET /echo?n=3 HTTP/1.1\r\nConnection: close\r\n\r\n")
	if n := strings.Count(got, "HTTP/1.1 200 OK\r\n"); n != 3 {
		t.Fatalf("pipelined requests got %d replies; want 3: %q", n, got)
	}
	if !strings.Contains(got, "n=1\n") || !strings.Contains(got, "n=3\n") || strings.Contains(got, "n=22") {
		t.Errorf("bodies wrong (HEAD must have none): %q", got)
	}
	if !strings.Contains(got, "Content-Length: 5\r\n") {
		t.Errorf("HEAD reply lacks the GET body's length: %q", got)
	}
}

// A client that connects and says nothing, or stops halfway through its
// headers, is dropped after the read timeout; an idle keep-alive
// connection after the idle timeout.
func TestHTTPSilentClientsAreDropped(t *testing.T) {
	_, addr := startHTTP(t, func(h *httpServer) {
		// The read timeout leaves a loaded machine a second to deliver
		// the keep-alive client's request; the idle timeout is shorter.
		h.readTimeout = time.Second
		h.idleTimeout = 200 * time.Millisecond
	})
	for _, req := range []string{"", "GET /echo HTTP/1.1\r\nX-Half: ", "GET /echo HTTP/1.1\r\n\r\n"} {
		got := exchange(t, addr, req) // returns only once the server closes
		if req == "" && got != "" {
			t.Errorf("silent client got %q; want a plain close", got)
		}
		if strings.HasPrefix(req, "GET /echo HTTP/1.1\r\n\r\n") && !strings.HasPrefix(got, "HTTP/1.1 200 OK") {
			t.Errorf("keep-alive client got %q before the idle close", got)
		}
	}
}

// Closing the server closes the idle keep-alive connections it has.
func TestHTTPCloseEndsHeldConnections(t *testing.T) {
	h, addr := startHTTP(t, nil)
	held := holdIdle(t, addr, "", httpMaxPerRemote)
	h.close()
	for i, c := range held {
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("held connection %d: %v; want closed by the server", i, err)
		}
	}
}

// Whatever arrives, reading a request neither panics nor accepts a head
// past the limit, and a request it accepts has a method and a target.
func FuzzReadHTTPRequest(f *testing.F) {
	f.Add([]byte("GET /varz HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("HEAD /connz?limit=1 HTTP/1.0\nConnection: keep-alive\n\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sr := strings.NewReader(string(in))
		br := bufio.NewReaderSize(sr, 1024)
		req, status := readHTTPRequest(br)
		if status != 0 {
			return
		}
		if req.method == "" || req.target == "" {
			t.Fatalf("accepted %q with method %q target %q", in, req.method, req.target)
		}
		if consumed := len(in) - br.Buffered() - sr.Len(); consumed > httpMaxHeader {
			t.Fatalf("accepted a head of %d bytes", consumed)
		}
		h := newHTTPServer(map[string]httpRoute{
			"/x": func(q url.Values) httpReply { return httpText(200, q.Encode()) },
		}, slog.New(slog.DiscardHandler))
		rep := h.route(req)
		if httpStatusText[rep.status] == "" {
			t.Fatalf("route answered unknown status %d", rep.status)
		}
	})
}
