package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

// testTimeout bounds every wait in these tests. It is generous on purpose:
// tests wait for events, never for time to pass, so a slow machine (or the
// race detector) only makes them slower, not flaky.
const testTimeout = 10 * time.Second

// startCoreServer starts a broker on 127.0.0.1 with a free port; zero
// fields of opts take the server's defaults. The server is shut down when
// the test ends, and a shutdown that does not finish in time fails the test.
func startCoreServer(t testing.TB, opts server.Options) *server.Server {
	t.Helper()
	opts.Host = "127.0.0.1"
	opts.Port = 0
	s, err := server.New(opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// connectNATS connects a nats.go client to s, closed when the test ends.
// Reconnection is off so that a test sees the server's disconnects.
func connectNATS(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{nats.NoReconnect(), nats.Timeout(testTimeout)}, opts...)
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("nats.Connect(%s): %v", s.ClientURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// flushNATS waits until the server has processed everything each client
// sent, and each client has read everything the server sent before that.
func flushNATS(t testing.TB, conns ...*nats.Conn) {
	t.Helper()
	for _, nc := range conns {
		if err := nc.FlushTimeout(testTimeout); err != nil {
			t.Fatalf("Flush: %v", err)
		}
	}
}

// drainPending returns every message waiting in a synchronous
// subscription. Flush the subscriber's connection first (after the
// publisher's) so that everything sent is already queued.
func drainPending(t testing.TB, sub *nats.Subscription) []*nats.Msg {
	t.Helper()
	n, _, err := sub.Pending()
	if err != nil {
		t.Fatalf("Pending(%s): %v", sub.Subject, err)
	}
	msgs := make([]*nats.Msg, 0, n)
	for range n {
		m, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("NextMsg(%s) after %d of %d: %v", sub.Subject, len(msgs), n, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// waitUntil polls cond until it returns nil, failing the test with cond's
// last error once testTimeout has passed.
func waitUntil(t testing.TB, cond func() error) {
	t.Helper()
	if err := poll(testTimeout, cond); err != nil {
		t.Fatalf("gave up waiting after %v: %v", testTimeout, err)
	}
}

// poll calls cond every few milliseconds until it returns nil, and
// returns nil, or cond's last error once timeout has passed. It is the
// one poll loop of the black-box tests; unlike waitUntil it may run on a
// goroutine of the test's own.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawConn is a plain TCP connection that speaks the protocol by hand.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	// info is the INFO the server sent on connecting.
	info map[string]any
}

// dialRaw opens a TCP connection to s and reads its INFO. The connection is
// closed when the test ends.
func dialRaw(t testing.TB, s *server.Server) *rawConn {
	t.Helper()
	rc := dialRawNoInfo(t, s)
	line := rc.readLine()
	js, ok := strings.CutPrefix(line, "INFO ")
	if !ok {
		t.Fatalf("first line = %q; want INFO {...}", line)
	}
	if err := json.Unmarshal([]byte(js), &rc.info); err != nil {
		t.Fatalf("INFO is not JSON: %v: %q", err, js)
	}
	return rc
}

// dialRawNoInfo opens a TCP connection to s without reading anything.
func dialRawNoInfo(t testing.TB, s *server.Server) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr().String(), testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr(), err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
}

// send writes s as is.
func (rc *rawConn) send(s string) {
	rc.t.Helper()
	rc.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(rc.conn, s); err != nil {
		rc.t.Fatalf("write %q: %v", s, err)
	}
}

// connect sends a CONNECT with the given JSON fields (verbose and pedantic
// off unless given) and waits for the server to have processed it.
func (rc *rawConn) connect(fields string) {
	rc.t.Helper()
	js := `{"verbose":false,"pedantic":false`
	if fields != "" {
		js += "," + fields
	}
	rc.send("CONNECT " + js + "}\r\n")
	rc.ping()
}

// tryReadLine reads one line, without its CRLF.
func (rc *rawConn) tryReadLine() (string, error) {
	rc.conn.SetReadDeadline(time.Now().Add(testTimeout))
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return line, err
	}
	return strings.TrimSuffix(line, "\r\n"), nil
}

// readLine reads one line, without its CRLF, failing the test on error.
func (rc *rawConn) readLine() string {
	rc.t.Helper()
	line, err := rc.tryReadLine()
	if err != nil {
		rc.t.Fatalf("read line: %v (partial %q)", err, line)
	}
	return line
}

// expect reads one line and fails unless it is want.
func (rc *rawConn) expect(want string) {
	rc.t.Helper()
	if got := rc.readLine(); got != want {
		rc.t.Fatalf("got line %q; want %q", got, want)
	}
}

// ping sends PING and expects PONG as the next line: everything sent before
// has been processed.
func (rc *rawConn) ping() {
	rc.t.Helper()
	rc.send("PING\r\n")
	rc.expect("PONG")
}

// readPayload reads n bytes and the CRLF after them.
func (rc *rawConn) readPayload(n int) []byte {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(rc.r, buf); err != nil {
		rc.t.Fatalf("read %d-byte payload: %v", n, err)
	}
	if string(buf[n:]) != "\r\n" {
		rc.t.Fatalf("payload ends in %q; want CRLF", buf[n:])
	}
	return buf[:n]
}

// expectClosed reads until the server closes the connection, failing if
// it does not within testTimeout. Whatever arrives first is returned.
func (rc *rawConn) expectClosed() []byte {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(testTimeout))
	b, err := io.ReadAll(rc.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		rc.t.Fatalf("connection still open after %v (read %d bytes)", testTimeout, len(b))
	}
	// io.ReadAll reports EOF as nil; a reset is a close as well.
	return b
}

// rawMsg is a MSG or HMSG read from a rawConn.
type rawMsg struct {
	op, subject, sid, reply string
	header, data            []byte
}

// readMsg parses the MSG or HMSG whose control line is line and reads its
// payload.
func (rc *rawConn) readMsg(line string) rawMsg {
	rc.t.Helper()
	f := strings.Fields(line)
	var m rawMsg
	hdrLen := -1
	switch {
	case len(f) == 4 && f[0] == "MSG":
		m = rawMsg{op: f[0], subject: f[1], sid: f[2]}
	case len(f) == 5 && f[0] == "MSG":
		m = rawMsg{op: f[0], subject: f[1], sid: f[2], reply: f[3]}
	case len(f) == 5 && f[0] == "HMSG":
		m = rawMsg{op: f[0], subject: f[1], sid: f[2]}
		hdrLen, _ = strconv.Atoi(f[3])
	case len(f) == 6 && f[0] == "HMSG":
		m = rawMsg{op: f[0], subject: f[1], sid: f[2], reply: f[3]}
		hdrLen, _ = strconv.Atoi(f[4])
	default:
		rc.t.Fatalf("got %q; want MSG or HMSG", line)
	}
	total, err := strconv.Atoi(f[len(f)-1])
	if err != nil || hdrLen > total {
		rc.t.Fatalf("bad sizes in %q", line)
	}
	b := rc.readPayload(total)
	if hdrLen >= 0 {
		m.header, b = b[:hdrLen], b[hdrLen:]
	}
	m.data = b
	return m
}

// collectUntilPong sends PING and returns the messages that arrive before
// the PONG; any other line fails the test.
func (rc *rawConn) collectUntilPong() []rawMsg {
	rc.t.Helper()
	rc.send("PING\r\n")
	var msgs []rawMsg
	for {
		line := rc.readLine()
		if line == "PONG" {
			return msgs
		}
		msgs = append(msgs, rc.readMsg(line))
	}
}
