package tests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

// Wire errors the server sends before closing a bad connection.
const (
	wantUnknownOp  = "Unknown Protocol Operation"
	wantMaxLine    = "maximum control line exceeded"
	wantMaxPayload = "Maximum Payload Violation"
	wantBadProto   = "invalid client protocol"
	wantAccepted   = ""    // the input is valid: the client is served
	wantAnyRefusal = "any" // random input: any of the refusals
)

// badCase is one hostile connection: what it sends and how the server
// must answer.
type badCase struct {
	name   string
	send   []byte
	want   string // a -ERR text, or wantAccepted
	strict bool   // small enough that the -ERR must arrive
}

// strictMax is the most a case may send and still require its -ERR: the
// server reads it all in its first (smallest) read, so it closes with
// nothing unread and the close cannot reset the connection.
const strictMax = 500

func newBadCase(name string, send []byte, want string) badCase {
	return badCase{name: name, send: send, want: want, strict: len(send) <= strictMax}
}

// junkLine returns a control line whose verb no operation has: it starts
// with a byte that is neither a letter nor a separator.
func junkLine(r *rand.Rand, n int) []byte {
	const firsts = "\x00\x01\x02\x7f\x80\xff#$%&0123456789{}[]!?@\\/"
	b := []byte{firsts[r.IntN(len(firsts))]}
	for len(b) < n {
		c := byte(r.IntN(256))
		if c != '\n' {
			b = append(b, c)
		}
	}
	return append(b, "\r\n"...)
}

// randomBytes returns n bytes of anything.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

// validPrefixes are well-formed operations a bad client may start with.
var validPrefixes = []string{
	"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n",
	"CONNECT {}\r\n",
	"PING\r\n",
	"SUB hostile.x 1\r\n",
	"SUB hostile.> q 2\r\nUNSUB 2 5\r\n",
	"PUB hostile.x 3\r\nabc\r\n",
	"pub hostile.x reply.y 0\r\n\r\n",
	"HPUB hostile.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
	"HPUB hostile.x 4 4\r\nab\r\n\r\n",
	"INFO {}\r\n",
	"\r\n",
}

// hostileCoreCases builds n bad connections from r, plus every fixed case.
func hostileCoreCases(r *rand.Rand, n int) []badCase {
	cases := []badCase{
		newBadCase("PUB 9-digit size", []byte("PUB foo 999999999\r\n"), wantMaxPayload),
		newBadCase("PUB max payload + 1", []byte("PUB foo 1048577\r\n"), wantMaxPayload),
		newBadCase("PUB 10-digit size", []byte("PUB foo 1000000000\r\n"), wantUnknownOp),
		newBadCase("PUB 30-digit size", []byte("PUB foo 999999999999999999999999999999\r\n"), wantUnknownOp),
		newBadCase("PUB negative size", []byte("PUB foo -1\r\n"), wantUnknownOp),
		newBadCase("PUB plus size", []byte("PUB foo +5\r\nhello\r\n"), wantUnknownOp),
		newBadCase("PUB hex size", []byte("PUB foo 0x10\r\n"), wantUnknownOp),
		newBadCase("PUB float size", []byte("PUB foo 1e3\r\n"), wantUnknownOp),
		newBadCase("PUB non-numeric size", []byte("PUB foo bar\r\n"), wantUnknownOp),
		newBadCase("PUB too many args", []byte("PUB a b c 1\r\nx\r\n"), wantUnknownOp),
		newBadCase("PUB no args", []byte("PUB\r\n"), wantUnknownOp),
		newBadCase("PUB payload too long", []byte("PUB foo 2\r\nhello\r\n"), wantUnknownOp),
		newBadCase("HPUB header > total", []byte("HPUB foo 10 5\r\n"), wantUnknownOp),
		newBadCase("HPUB header > total, body sent", []byte("HPUB foo 22 11\r\nNATS/1.0\r\nA: B\r\n\r\nhello\r\n"), wantUnknownOp),
		newBadCase("HPUB 9-digit sizes", []byte("HPUB foo 999999999 999999999\r\n"), wantMaxPayload),
		newBadCase("HPUB negative header", []byte("HPUB foo -1 5\r\n"), wantUnknownOp),
		newBadCase("HPUB non-numeric total", []byte("HPUB foo 5 five\r\n"), wantUnknownOp),
		newBadCase("HPUB one size", []byte("HPUB foo 5\r\n"), wantUnknownOp),
		newBadCase("CONNECT empty", []byte("CONNECT\r\n"), wantUnknownOp),
		newBadCase("CONNECT not JSON", []byte("CONNECT {\"verbose\":\r\n"), wantUnknownOp),
		newBadCase("CONNECT array", []byte("CONNECT [1,2,3]\r\n"), wantUnknownOp),
		newBadCase("CONNECT wrong type", []byte("CONNECT {\"verbose\":\"yes\"}\r\n"), wantUnknownOp),
		newBadCase("CONNECT huge number", []byte("CONNECT {\"protocol\":1e400}\r\n"), wantUnknownOp),
		newBadCase("CONNECT protocol 2^63", []byte("CONNECT {\"protocol\":9223372036854775808}\r\n"), wantUnknownOp),
		newBadCase("CONNECT protocol 99", []byte("CONNECT {\"protocol\":99}\r\n"), wantBadProto),
		newBadCase("CONNECT trailing junk", []byte("CONNECT {} {}\r\n"), wantUnknownOp),
		newBadCase("CONNECT unbalanced nesting", []byte("CONNECT {\"a\":"+strings.Repeat("[", 400)+"}\r\n"), wantUnknownOp),
		newBadCase("CONNECT null", []byte("CONNECT null\r\nPING\r\n"), wantAccepted),
		newBadCase("CONNECT deeply nested", []byte("CONNECT {\"verbose\":false,\"x\":"+strings.Repeat("[", 2000)+strings.Repeat("]", 2000)+"}\r\nPING\r\n"), wantAccepted),
		newBadCase("CONNECT unknown fields", []byte("CONNECT {\"verbose\":false,\"zzz\":{\"a\":[null,{}]},\"name\":\"\\u0000\"}\r\nPING\r\n"), wantAccepted),
		newBadCase("CONNECT huge", []byte("CONNECT {\"name\":\""+strings.Repeat("n", 8000)+"\"}\r\n"), wantMaxLine),
		newBadCase("huge line, no newline", []byte("PUB "+strings.Repeat("a", 100<<10)), wantMaxLine),
		newBadCase("huge SUB line", []byte("SUB "+strings.Repeat("a", 5000)+" 1\r\n"), wantMaxLine),
		newBadCase("zeros", append(bytes.Repeat([]byte{0}, 300), "\r\n"...), wantUnknownOp),
		newBadCase("zeros, no newline", bytes.Repeat([]byte{0}, 20<<10), wantMaxLine),
		newBadCase("only newlines then junk", []byte("\r\n\n\r\n\x00\r\n"), wantUnknownOp),
		newBadCase("hang up at once", nil, wantAccepted),
		newBadCase("half a PUB payload", []byte("PUB foo 100\r\nabc"), wantAccepted),
	}
	for i := range n {
		var b []byte
		want := wantUnknownOp
		switch kind := r.IntN(6); kind {
		case 0: // garbage from the first byte
			b = junkLine(r, 1+r.IntN(400))
		case 1: // a valid start, then garbage
			for range 1 + r.IntN(4) {
				b = append(b, validPrefixes[r.IntN(len(validPrefixes))]...)
			}
			b = append(b, junkLine(r, 1+r.IntN(200))...)
		case 2: // a payload not followed by CRLF
			size := r.IntN(300)
			b = fmt.Appendf(nil, "PUB hostile.p %d\r\n", size)
			b = append(b, randomBytes(r, size)...)
			b = append(b, 'x', '\n')
		case 3: // a long run of bytes without a newline
			for len(b) < 5000+r.IntN(20000) {
				if c := byte(r.IntN(256)); c != '\n' {
					b = append(b, c)
				}
			}
			want = wantMaxLine
		case 4: // a verb, then random bytes for its arguments
			verbs := []string{"PUB ", "HPUB ", "SUB ", "UNSUB ", "PING ", "PONG x"}
			b = append([]byte(verbs[r.IntN(len(verbs))]), junkLine(r, 1+r.IntN(50))...)
			b = b[:len(b)-2]
			b = bytes.ReplaceAll(b, []byte{'\r'}, []byte{'x'})
			b = append(b, "\r\n"...)
			// A random argument list may parse: junk follows it.
			b = append(b, junkLine(r, 10)...)
			want = wantAnyRefusal
		case 5: // random bytes, anything at all, then a sure error
			b = append(randomBytes(r, r.IntN(300)), "\r\n"...)
			b = append(b, junkLine(r, 5)...)
			want = wantAnyRefusal
		}
		c := newBadCase(fmt.Sprintf("random %d", i), b, want)
		cases = append(cases, c)
	}
	return cases
}

// runBadCase plays one case and checks the server's answer.
func runBadCase(addr string, c badCase) error {
	if c.want == wantAccepted {
		var x exchange
		if bytes.HasSuffix(c.send, []byte("PING\r\n")) {
			// The server answers everything before the PING ahead of its
			// PONG, however long a busy server takes.
			x = untilPong(addr, c.send)
		} else {
			x = badClient(addr, [][]byte{c.send}, 0, 200*time.Millisecond)
		}
		if x.err != nil {
			return x.err
		}
		if bytes.Contains(x.out, []byte("-ERR")) {
			return fmt.Errorf("%s: refused: %q", c.name, trunc(x.out))
		}
		if bytes.HasSuffix(c.send, []byte("PING\r\n")) && !bytes.HasSuffix(x.out, []byte("PONG\r\n")) {
			return fmt.Errorf("%s: no PONG: %q", c.name, trunc(x.out))
		}
		return nil
	}
	x := badClient(addr, [][]byte{c.send}, 0, testTimeout)
	if c.want == wantAnyRefusal {
		// Random input may fail anywhere: it may draw errors that leave
		// the connection open, then one of the refusals, then a close.
		fatal, last := []string{wantUnknownOp, wantMaxLine, wantMaxPayload, wantBadProto, "no responders requires headers support"}, ""
		for _, l := range strings.Split(string(x.out), "\r\n") {
			if !strings.HasPrefix(l, "-ERR") {
				continue
			}
			if last != "" {
				return fmt.Errorf("%s: -ERR %q after the fatal %q", c.name, l, last)
			}
			text := strings.TrimSuffix(strings.TrimPrefix(l, "-ERR '"), "'")
			if slices.Contains(fatal, text) {
				last = text
			} else if text != "Invalid Subject" {
				return fmt.Errorf("%s: unexpected %q", c.name, l)
			}
		}
		if last == "" {
			last = wantUnknownOp // the close must come even if the -ERR was lost
		}
		if err := checkRefused(x, last, false, "Invalid Subject"); err != nil {
			return fmt.Errorf("%s (%q): %w", c.name, trunc(c.send), err)
		}
		return nil
	}
	if err := checkRefused(x, c.want, c.strict); err != nil {
		return fmt.Errorf("%s (%q): %w", c.name, trunc(c.send), err)
	}
	return nil
}

// TestHostileCoreGarbage attacks a server with hundreds of bad
// connections at once, and two slowloris clients, while a nats.go client
// keeps round-tripping requests through it. Each bad connection gets the
// -ERR its input deserves and is closed (or, for input that is valid
// after all, is served); the nats.go client never fails; and once the bad
// clients are gone the process is back to the goroutines it had before.
func TestHostileCoreGarbage(t *testing.T) {
	r := hostileRand(t, 20240611)
	s := startCoreServer(t, server.Options{PingInterval: time.Second, MaxPingsOut: 2})
	h := startHealthyClient(t, s)
	base := runtime.NumGoroutine()
	cases := hostileCoreCases(r, 400)
	h.run()

	// Slowloris: one byte a second of a line that never ends. The
	// server pings it, gets no PONG and drops it as stale.
	slow := make(chan error, 2)
	for i := range 2 {
		go func() {
			var chunks [][]byte
			for _, c := range []byte("SUB hostile.slow 1 and more and more") {
				chunks = append(chunks, []byte{c})
			}
			if i == 1 {
				chunks = append([][]byte{[]byte("CONNECT {\"verbose\":false}\r\n")}, chunks...)
			}
			x := badClient(s.Addr().String(), chunks, time.Second, testTimeout)
			slow <- checkRefused(x, "Stale Connection", true)
		}()
	}

	addr := s.Addr().String()
	errs := runBadClients(cases, 16, func(c badCase) error { return runBadCase(addr, c) })
	failed := 0
	for _, err := range errs {
		if err != nil {
			if failed++; failed <= 20 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d bad connections were not refused as they should be", failed, len(cases))
	}
	for range 2 {
		if err := <-slow; err != nil {
			t.Errorf("slowloris: %v", err)
		}
	}
	h.halt()
	waitUntil(t, func() error {
		if n := s.NumClients(); n != 2 {
			return fmt.Errorf("%d clients; want the 2 healthy ones", n)
		}
		return nil
	})
	waitGoroutines(t, base)
}

// TestHostileAuthSlowloris checks that clients trickling their first line
// one byte a second are dropped at the auth timeout, while an
// authenticated client is served throughout and nothing is left behind.
func TestHostileAuthSlowloris(t *testing.T) {
	s := startAuthServer(t, auth.Config{Token: "s3cret"}, server.Options{AuthTimeout: time.Second})
	h := startHealthyClientWith(t, s, nats.Token("s3cret"))
	base := runtime.NumGoroutine()
	h.run()
	lines := []string{`CONNECT {"auth_token":"s3cret"}` + "\r\n", "PING\r\n", "SUB a 1\r\n", "\x00\x00\x00\x00"}
	errs := runBadClients(lines, len(lines), func(line string) error {
		var chunks [][]byte
		for _, c := range []byte(line) {
			chunks = append(chunks, []byte{c})
		}
		x := badClient(s.Addr().String(), chunks, time.Second, testTimeout)
		if err := checkRefused(x, "Authentication Timeout", true); err != nil {
			return fmt.Errorf("trickling %q: %w", line, err)
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	h.halt()
	waitGoroutines(t, base)
}
