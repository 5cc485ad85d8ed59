package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A subscriber that stops reading while a publisher sends one message per
// read buffer (the read loop writes each at once while it fits, then
// hands the rest to the write loop) still gets every message, in order,
// once it reads again; the publisher was never held up.
func TestWriteNowFullSocketKeepsOrder(t *testing.T) {
	s := startFootprintServer(t)
	addr := s.ClientURL()[len("nats://"):]
	sub, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sr := bufio.NewReader(sub)
	io.WriteString(sub, "CONNECT {\"verbose\":false}\r\nSUB seq 1\r\nPING\r\n")
	readUntil(t, sr, "PONG\r\n")
	// A small send buffer on the server's side of the subscriber's socket
	// fills after a few messages.
	s.mu.Lock()
	for _, c := range s.clients {
		c.nc.(*net.TCPConn).SetWriteBuffer(16 << 10)
	}
	s.mu.Unlock()

	pub, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	pr := bufio.NewReader(pub)
	io.WriteString(pub, "CONNECT {\"verbose\":false}\r\n")
	const n, size = 600, 1000
	pad := strings.Repeat("x", size-8)
	for i := range n {
		// One message per read: PING waits for the server to have read it.
		fmt.Fprintf(pub, "PUB seq %d\r\n%08d%s\r\nPING\r\n", size, i, pad)
		pub.SetReadDeadline(time.Now().Add(10 * time.Second))
		readUntil(t, pr, "PONG\r\n")
	}
	sub.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range n {
		line, err := sr.ReadString('\n')
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := fmt.Sprintf("MSG seq 1 %d\r\n", size); line != want {
			t.Fatalf("message %d: %q; want %q", i, line, want)
		}
		body := make([]byte, size+2)
		if _, err := io.ReadFull(sr, body); err != nil {
			t.Fatalf("message %d body: %v", i, err)
		}
		if got := string(body[:8]); got != fmt.Sprintf("%08d", i) {
			t.Fatalf("message %d carries %s: out of order", i, got)
		}
	}
}

func readUntil(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if line == want {
			return
		}
		if strings.HasPrefix(line, "-ERR") {
			t.Fatalf("waiting for %q: %s", want, line)
		}
	}
}

func TestSkipWritten(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "abc|de|f"}, {2, "c|de|f"}, {3, "de|f"}, {4, "e|f"}, {6, ""},
	}
	for _, tt := range tests {
		bufs := [][]byte{[]byte("abc"), []byte("de"), []byte("f")}
		var parts []string
		for _, b := range skipWritten(bufs, tt.n) {
			parts = append(parts, string(b))
		}
		if got := strings.Join(parts, "|"); got != tt.want {
			t.Errorf("skipWritten(abc|de|f, %d) = %q; want %q", tt.n, got, tt.want)
		}
	}
}

// A write deadline a write loop set long before does not fail a later
// write made at once: the subscriber gets the message and stays connected.
func TestWriteNowAfterOldDeadline(t *testing.T) {
	s, err := New(Options{Host: "127.0.0.1", WriteDeadline: 50 * time.Millisecond})
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
	addr := s.ClientURL()[len("nats://"):]
	sub, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sr := bufio.NewReader(sub)
	// INFO and this PONG went out through the write loop, which armed
	// the deadline.
	io.WriteString(sub, "CONNECT {\"verbose\":false}\r\nSUB d 1\r\nPING\r\n")
	readUntil(t, sr, "PONG\r\n")
	time.Sleep(200 * time.Millisecond) // let that deadline pass
	pub, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	io.WriteString(pub, "CONNECT {\"verbose\":false}\r\nPUB d 2\r\nhi\r\n")
	sub.SetReadDeadline(time.Now().Add(10 * time.Second))
	readUntil(t, sr, "MSG d 1 2\r\n")
	// Still connected: a PING is answered.
	io.WriteString(sub, "PING\r\n")
	readUntil(t, sr, "hi\r\n")
	readUntil(t, sr, "PONG\r\n")
}
