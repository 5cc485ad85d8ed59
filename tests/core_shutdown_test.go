package tests

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/server"
)

func TestCoreShutdownClosesClients(t *testing.T) {
	s := startCoreServer(t, server.Options{})

	const n = 3
	disconnected := make(chan struct{}, n)
	closed := make(chan struct{}, n)
	var conns []*nats.Conn
	for range n {
		nc := connectNATS(t, s,
			nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnected <- struct{}{} }),
			nats.ClosedHandler(func(*nats.Conn) { closed <- struct{}{} }),
		)
		if _, err := nc.SubscribeSync("any.>"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	flushNATS(t, conns...)
	raw := dialRaw(t, s)
	raw.connect("")
	ip := s.InProc("svc")
	t.Cleanup(ip.Close)
	if _, err := ip.Subscribe("svc", "", func(*protocol.Msg) {}); err != nil {
		t.Fatal(err)
	}

	if got := s.NumClients(); got != n+1 {
		t.Fatalf("NumClients = %d; want %d", got, n+1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	for i := range n {
		for _, ch := range []chan struct{}{disconnected, closed} {
			select {
			case <-ch:
			case <-ctx.Done():
				t.Fatalf("only %d of %d nats.go clients saw the disconnect and close", i, n)
			}
		}
	}
	for i, nc := range conns {
		if !nc.IsClosed() {
			t.Errorf("client %d: status %v; want closed", i, nc.Status())
		}
	}
	if rest := raw.expectClosed(); len(rest) > 0 {
		t.Errorf("raw client got %q before the close; want nothing", rest)
	}
	if got := s.NumClients(); got != 0 {
		t.Errorf("NumClients after Shutdown = %d; want 0", got)
	}
	// The listener is closed too.
	if _, err := nats.Connect(s.ClientURL(), nats.NoReconnect()); err == nil {
		t.Error("Connect after Shutdown succeeded; want an error")
	}
	// Shutting down again is harmless.
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Messages queued before Shutdown reach their subscribers.
func TestCoreShutdownFlushes(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	rc.connect("")
	rc.send("SUB last 1\r\n")
	rc.ping()
	pub := connectNATS(t, s)
	const n = 100
	publishN(t, pub, "last", n)
	flushNATS(t, pub)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i := range n {
		m := rc.readMsg(rc.readLine())
		if got, want := string(m.data), fmt.Sprint(i); got != want {
			t.Fatalf("message %d: got %q; want %q", i, got, want)
		}
	}
	if rest := rc.expectClosed(); len(rest) > 0 {
		t.Errorf("after the messages got %q; want the connection closed", rest)
	}
}
