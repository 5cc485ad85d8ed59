package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wrenmq/wren/server"
)

// TestCoreErrors sends each kind of bad input over raw TCP and checks the
// -ERR line and whether the server then closes the connection or keeps
// serving it.
func TestCoreErrors(t *testing.T) {
	tests := []struct {
		name     string
		opts     server.Options
		connect  string // CONNECT fields sent (and PINGed) first; "-" sends no CONNECT
		send     string
		wantErr  string
		wantOpen bool
	}{
		{"unknown verb", server.Options{}, "", "FOO bar\r\n", "Unknown Protocol Operation", false},
		{"unknown verb before CONNECT", server.Options{}, "-", "HELLO\r\n", "Unknown Protocol Operation", false},
		{"PUB without size", server.Options{}, "", "PUB foo\r\n", "Unknown Protocol Operation", false},
		{"PUB with bad size", server.Options{}, "", "PUB foo x1\r\n", "Unknown Protocol Operation", false},
		{"HPUB header larger than total", server.Options{}, "", "HPUB foo 10 5\r\n", "Unknown Protocol Operation", false},
		{"SUB without sid", server.Options{}, "", "SUB foo\r\n", "Unknown Protocol Operation", false},
		{"payload longer than announced", server.Options{}, "", "PUB foo 2\r\nhello\r\n", "Unknown Protocol Operation", false},
		{"CONNECT not JSON", server.Options{}, "-", "CONNECT {nope\r\n", "Unknown Protocol Operation", false},

		{"control line too long", server.Options{MaxControlLine: 64}, "",
			"SUB " + strings.Repeat("a", 100) + " 1\r\n", "maximum control line exceeded", false},
		{"control line too long, no newline yet", server.Options{MaxControlLine: 64}, "",
			"PUB " + strings.Repeat("a", 200), "maximum control line exceeded", false},

		{"PUB over default max payload", server.Options{}, "",
			fmt.Sprintf("PUB foo %d\r\n", server.DefaultMaxPayload+1), "Maximum Payload Violation", false},
		{"PUB over max payload", server.Options{MaxPayload: 100}, "", "PUB foo 101\r\n", "Maximum Payload Violation", false},
		{"HPUB header plus data over max payload", server.Options{MaxPayload: 100}, "",
			"HPUB foo 12 101\r\n", "Maximum Payload Violation", false},

		{"maximum subscriptions", server.Options{MaxSubscriptions: 2}, "",
			"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n", "maximum subscriptions exceeded", true},

		{"SUB empty token", server.Options{}, "", "SUB foo..bar 1\r\n", "Invalid Subject", true},
		{"SUB trailing dot", server.Options{}, "", "SUB foo. 1\r\n", "Invalid Subject", true},
		{"SUB > not last", server.Options{}, "", "SUB foo.>.bar 1\r\n", "Invalid Subject", true},
		{"SUB bad queue name", server.Options{}, "", "SUB foo bad..q 1\r\n", "Invalid Subject", true},

		{"pedantic PUB to wildcard", server.Options{}, `"pedantic":true`, "PUB foo.* 2\r\nhi\r\n", "Invalid Publish Subject", true},
		{"pedantic PUB to >", server.Options{}, `"pedantic":true`, "PUB > 2\r\nhi\r\n", "Invalid Publish Subject", true},
		{"pedantic PUB empty token", server.Options{}, `"pedantic":true`, "PUB a..b 2\r\nhi\r\n", "Invalid Publish Subject", true},
		{"pedantic by default", server.Options{}, "-", "CONNECT {\"verbose\":false}\r\nPUB foo.* 2\r\nhi\r\n", "Invalid Publish Subject", true},
		{"reply on an ack subject", server.Options{}, "", "PUB orders $JS.ACK.S.C.1.1.1.0.0 2\r\nhi\r\n", `Permissions Violation for Publish with Reply of "$JS.ACK.S.C.1.1.1.0.0"`, true},
		{"HPUB reply on an ack subject", server.Options{}, "", "HPUB orders $JS.ACK.x 12 12\r\nNATS/1.0\r\n\r\n\r\n", `Permissions Violation for Publish with Reply of "$JS.ACK.x"`, true},

		{"protocol 2", server.Options{}, "-", `CONNECT {"verbose":false,"protocol":2}` + "\r\n", "invalid client protocol", false},
		{"protocol -1", server.Options{}, "-", `CONNECT {"verbose":false,"protocol":-1}` + "\r\n", "invalid client protocol", false},

		{"no_responders without headers", server.Options{}, "-",
			`CONNECT {"verbose":false,"no_responders":true}` + "\r\n", "no responders requires headers support", false},
		{"no_responders with headers false", server.Options{}, "-",
			`CONNECT {"verbose":false,"no_responders":true,"headers":false}` + "\r\n", "no responders requires headers support", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startCoreServer(t, tt.opts)
			rc := dialRaw(t, s)
			if tt.connect != "-" {
				rc.connect(tt.connect)
			}
			rc.send(tt.send)
			if got, want := rc.readLine(), "-ERR '"+tt.wantErr+"'"; got != want {
				t.Fatalf("got %q; want %q", got, want)
			}
			if tt.wantOpen {
				rc.ping()
				return
			}
			if rest := rc.expectClosed(); len(rest) > 0 {
				t.Errorf("after the -ERR got %q; want the connection closed", rest)
			}
		})
	}
}

// The server keeps serving a connection after errors that do not close it.
func TestCoreErrorsKeepState(t *testing.T) {
	s := startCoreServer(t, server.Options{MaxSubscriptions: 1})
	rc := dialRaw(t, s)
	rc.connect(`"pedantic":true`)
	rc.send("SUB ok 1\r\nSUB second 2\r\n")
	rc.expect("-ERR 'maximum subscriptions exceeded'")
	rc.send("PUB bad.* 1\r\nx\r\n")
	rc.expect("-ERR 'Invalid Publish Subject'")
	rc.send("PUB ok 3\r\nyes\r\nPUB second 2\r\nno\r\n")
	msgs := rc.collectUntilPong()
	if len(msgs) != 1 || msgs[0].subject != "ok" || msgs[0].sid != "1" || string(msgs[0].data) != "yes" {
		t.Errorf("got %+v; want one MSG ok 1 \"yes\"", msgs)
	}
}

func TestCoreMaxConnections(t *testing.T) {
	s := startCoreServer(t, server.Options{MaxConnections: 1})
	first := dialRaw(t, s)
	first.connect("")

	second := dialRaw(t, s)
	if _, ok := second.info["server_id"]; !ok {
		t.Errorf("refused connection's INFO lacks server_id: %v", second.info)
	}
	second.expect("-ERR 'maximum connections exceeded'")
	if rest := second.expectClosed(); len(rest) > 0 {
		t.Errorf("after the -ERR got %q; want the connection closed", rest)
	}
	first.ping()

	// Closing the first frees its slot.
	first.conn.Close()
	waitUntil(t, func() error {
		if n := s.NumClients(); n != 0 {
			return fmt.Errorf("NumClients = %d; want 0", n)
		}
		return nil
	})
	third := dialRaw(t, s)
	third.connect("")
	if got := s.Stats().TotalConnections; got != 2 {
		t.Errorf("TotalConnections = %d; want 2 (refused ones not counted)", got)
	}
}

func TestCoreStaleConnection(t *testing.T) {
	s := startCoreServer(t, server.Options{PingInterval: 50 * time.Millisecond, MaxPingsOut: 2})
	rc := dialRaw(t, s)
	// No PING of our own: the server's may come before its PONG.
	rc.send("CONNECT {\"verbose\":false}\r\n")
	// The client never answers: PINGs, then -ERR, then close.
	pings := 0
	for {
		line := rc.readLine()
		if line == "PING" {
			pings++
			continue
		}
		if want := "-ERR 'Stale Connection'"; line != want {
			t.Fatalf("got %q after %d PINGs; want %q", line, pings, want)
		}
		break
	}
	if pings != 2 {
		t.Errorf("got %d PINGs before the -ERR; want 2", pings)
	}
	if rest := rc.expectClosed(); len(rest) > 0 {
		t.Errorf("after the -ERR got %q; want the connection closed", rest)
	}
}

// A client that answers the server's PINGs stays connected.
func TestCoreAnsweredPingsKeepConnection(t *testing.T) {
	// An answer may take up to MaxPingsOut intervals (500ms) to reach the
	// server: a loaded machine can delay it that long, not the 40ms two
	// 20ms intervals would allow.
	const maxPingsOut = 5
	s := startCoreServer(t, server.Options{PingInterval: 100 * time.Millisecond, MaxPingsOut: maxPingsOut})
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false}\r\n")
	// Answer PINGs, well past MaxPingsOut; then our own PING must get its
	// PONG, between more of the server's PINGs.
	pings := 0
	for {
		line := rc.readLine()
		if line == "PONG" {
			break
		}
		if line != "PING" {
			t.Fatalf("got %q after %d PINGs; want PING or PONG", line, pings)
		}
		rc.send("PONG\r\n")
		if pings++; pings == 2*maxPingsOut+2 {
			rc.send("PING\r\n")
		}
	}
}
