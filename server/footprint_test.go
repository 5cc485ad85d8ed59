package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// idleSubscribers opens n connections that each CONNECT, SUB and wait for
// the PONG that proves the server handled both.
func idleSubscribers(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		fmt.Fprintf(c, "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"idle-%d\"}\r\nSUB idle.%d 1\r\nPING\r\n", i, i)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			if strings.HasPrefix(line, "PONG") {
				break
			}
		}
		c.SetDeadline(time.Time{})
	}
	return conns
}

// waitGoroutines polls until the process runs at most max goroutines.
func waitGoroutines(t *testing.T, max int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= max {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines; want at most %d", what, n, max)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startFootprintServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// An idle connection keeps only its read loop: the write loop runs while
// there is something to write.
func TestIdleConnectionsKeepOneGoroutine(t *testing.T) {
	s := startFootprintServer(t)
	base := runtime.NumGoroutine()
	const n = 100
	idleSubscribers(t, s.Addr().String(), n)
	waitGoroutines(t, base+n, fmt.Sprintf("%d idle connections", n))
	// The write loops come back when there is something to write.
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT {\"verbose\":false}\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(c, "PUB idle.%d 2\r\nhi\r\n", i)
	}
	fmt.Fprintf(c, "PING\r\n")
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "PONG") {
			break
		}
	}
	if st := s.Stats(); st.OutMsgs != n {
		t.Errorf("delivered %d messages to the idle subscribers; want %d", st.OutMsgs, n)
	}
}
