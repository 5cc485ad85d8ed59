package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// dialFrom connects to addr from the loopback address local ("" for the
// default), so tests can play several remotes on one machine.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// holdIdle opens n keep-alive connections from local, each answered once
// and then left idle.
func holdIdle(t *testing.T, addr, local string, n int) []net.Conn {
	t.Helper()
	var held []net.Conn
	for i := range n {
		c := dialFrom(t, local, addr)
		io.WriteString(c, "GET /echo HTTP/1.1\r\n\r\n")
		br := bufio.NewReader(c)
		if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 200 OK\r\n" {
			t.Fatalf("idle connection %d: %q, %v", i, line, err)
		}
		held = append(held, c)
	}
	return held
}

// waitIdle waits until the server counts n connections as idle: a reply
// reaches the client just before its connection is marked idle.
func waitIdle(t *testing.T, h *httpServer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		idle := 0
		for _, hc := range h.conns {
			if hc.idle {
				idle++
			}
		}
		h.mu.Unlock()
		if idle >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections; want %d", idle, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// getOn sends one GET on a fresh connection from local and returns the
// status line.
func getOn(t *testing.T, local, addr, path string) string {
	t.Helper()
	c := dialFrom(t, local, addr)
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	line, _, _ := strings.Cut(string(b), "\r\n")
	return line
}

// Connections held open and idle from many remotes, filling the whole
// cap, do not lock out a health check: the one idle longest gives way.
func TestHTTPIdleConnectionsDoNotStarveHealth(t *testing.T) {
	h, addr := startHTTP(t, nil)
	var held []net.Conn
	for r := 0; len(held) < httpMaxConns; r++ {
		held = append(held, holdIdle(t, addr, "127.0.0."+string(rune('2'+r)), httpMaxPerRemote)...)
	}
	waitIdle(t, h, httpMaxConns)
	for i := range 3 {
		if got := getOn(t, "", addr, "/echo"); got != "HTTP/1.1 200 OK" {
			t.Fatalf("request %d with %d idle connections held: %q; want 200", i, len(held), got)
		}
	}
	// An idle connection was closed to make room (the one idle longest,
	// which the order of the handlers' bookkeeping decides).
	closed := 0
	for _, c := range held {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := io.ReadAll(c); err == nil {
			closed++
		}
	}
	if closed == 0 {
		t.Error("no idle connection was closed to make room")
	}
}

// One remote holding connections in the middle of a request (a slow
// sender) gets at most httpMaxPerRemote of them; another remote is served.
func TestHTTPBusyConnectionsAreBoundedPerRemote(t *testing.T) {
	_, addr := startHTTP(t, nil)
	for i := range httpMaxConns {
		c := dialFrom(t, "127.0.0.2", addr)
		io.WriteString(c, "GET /echo HTTP/1.1\r\nX-Slow: ")
		if i >= httpMaxPerRemote {
			b, _ := io.ReadAll(c)
			if !strings.HasPrefix(string(b), "HTTP/1.1 503 ") {
				t.Fatalf("slow connection %d from one remote got %q; want 503", i, b)
			}
		}
	}
	if got := getOn(t, "127.0.0.3", addr, "/echo"); got != "HTTP/1.1 200 OK" {
		t.Fatalf("another remote got %q; want 200", got)
	}
}

// A remote at its bound with idle connections gets room by closing its
// own oldest idle one, not another remote's.
func TestHTTPPerRemoteBoundClosesOwnIdle(t *testing.T) {
	h, addr := startHTTP(t, nil)
	// One at a time, each idle before the next, so mine[0] is the oldest.
	var mine []net.Conn
	for i := range httpMaxPerRemote {
		mine = append(mine, holdIdle(t, addr, "127.0.0.2", 1)...)
		waitIdle(t, h, i+1)
	}
	other := holdIdle(t, addr, "127.0.0.3", 1)
	waitIdle(t, h, httpMaxPerRemote+1)
	if got := getOn(t, "127.0.0.2", addr, "/echo"); got != "HTTP/1.1 200 OK" {
		t.Fatalf("request past the remote's bound: %q; want 200", got)
	}
	mine[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(mine[0]); err != nil {
		t.Errorf("the remote's oldest idle connection: %v; want closed", err)
	}
	other[0].SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var one [1]byte
	if _, err := other[0].Read(one[:]); !errors.Is(err, io.EOF) {
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("another remote's idle connection: %v; want still open", err)
		}
	} else {
		t.Error("another remote's idle connection was closed")
	}
}

// failingListener fails its first n accepts as a process out of file
// descriptors does.
type failingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// Running out of file descriptors pauses monitoring; it does not end it.
func TestHTTPAcceptRetriesOnEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &failingListener{Listener: ln}
	fl.n.Store(5)
	h, _ := startHTTP(t, nil)
	go h.serve(fl)
	if got := getOn(t, "", ln.Addr().String(), "/echo"); got != "HTTP/1.1 200 OK" {
		t.Fatalf("after failed accepts: %q; want 200", got)
	}
	if fl.n.Load() >= 0 {
		t.Fatalf("%d injected failures left; the test did not exercise them", fl.n.Load()+1)
	}
}

// With a token, every path but the open ones wants it as a bearer token.
func TestHTTPBearerToken(t *testing.T) {
	_, addr := startHTTP(t, func(h *httpServer) {
		h.token = "s3cret"
	})
	cases := []struct{ auth, want string }{
		{"", "HTTP/1.1 401 Unauthorized"},
		{"Authorization: Bearer wrong\r\n", "HTTP/1.1 401 Unauthorized"},
		{"Authorization: Basic czNjcmV0\r\n", "HTTP/1.1 401 Unauthorized"},
		{"Authorization: Bearer s3cret\r\n", "HTTP/1.1 200 OK"},
		{"authorization: bearer s3cret\r\n", "HTTP/1.1 200 OK"},
	}
	for _, tc := range cases {
		got := exchange(t, addr, "GET /echo HTTP/1.1\r\n"+tc.auth+"Connection: close\r\n\r\n")
		if !strings.HasPrefix(got, tc.want+"\r\n") {
			t.Errorf("with %q: %.80q; want %q", tc.auth, got, tc.want)
		}
		if strings.HasPrefix(tc.want, "HTTP/1.1 401") && !strings.Contains(got, "WWW-Authenticate: Bearer") {
			t.Errorf("401 without WWW-Authenticate: %q", got)
		}
	}
}
