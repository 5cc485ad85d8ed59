package server

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// /healthz answers while the locks clients take are held (the server's
// client table, the authentication state, the subject index), so a
// client stuck inside one, or a flood of connects, cannot make the health
// check time out. It also answers past the connection cap of idle
// monitoring connections (see httpd_guard_test.go).
func TestHealthzTakesNoClientLock(t *testing.T) {
	s, err := New(Options{Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	addr, err := s.StartMonitoring("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	failing := errors.New("stream \"S\": storage write failed")
	var healthy atomic.Bool
	healthy.Store(true)
	s.SetHealthCheck(func() error {
		if healthy.Load() {
			return nil
		}
		return failing
	})
	get := func() string {
		c, err := net.DialTimeout("tcp", addr.String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("/healthz with the client locks held: %v (got %q)", err, b)
		}
		return string(b)
	}
	s.mu.Lock()
	s.auth.mu.Lock()
	s.sl.mu.Lock()
	got := get()
	healthy.Store(false)
	failed := get()
	s.sl.mu.Unlock()
	s.auth.mu.Unlock()
	s.mu.Unlock()
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.HasSuffix(got, "{\n  \"status\": \"ok\"\n}\n") {
		t.Errorf("healthy /healthz = %q", got)
	}
	if !strings.HasPrefix(failed, "HTTP/1.1 503 ") || !strings.Contains(failed, "storage write failed") {
		t.Errorf("failing /healthz = %q", failed)
	}
}
