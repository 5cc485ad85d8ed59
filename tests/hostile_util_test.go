package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

// hostileRand returns a generator seeded with def, or with
// WREN_HOSTILE_SEED when set; the seed is logged so a failure can be
// replayed.
func hostileRand(t testing.TB, def uint64) *rand.Rand {
	t.Helper()
	seed := def
	if v := os.Getenv("WREN_HOSTILE_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("WREN_HOSTILE_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (set WREN_HOSTILE_SEED to replay another)", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// waitGoroutines polls until the process runs at most base goroutines,
// failing with every goroutine's stack if that does not happen in time.
func waitGoroutines(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after %v; want at most %d (leak):\n%s", n, testTimeout, base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// healthyClient is a nats.go requester and responder pair that keeps
// checking, in the background, that the server still serves real
// clients.
type healthyClient struct {
	t        testing.TB
	req      *nats.Conn
	stop     chan struct{}
	done     chan struct{}
	ok, fail atomic.Int64
	lastErr  atomic.Value
}

func startHealthyClient(t testing.TB, s *server.Server) *healthyClient {
	t.Helper()
	return startHealthyClientWith(t, s)
}

func startHealthyClientWith(t testing.TB, s *server.Server, opts ...nats.Option) *healthyClient {
	t.Helper()
	resp := connectNATS(t, s, opts...)
	if _, err := resp.Subscribe("hostile.echo", func(m *nats.Msg) { m.Respond(append([]byte("echo:"), m.Data...)) }); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, resp)
	h := &healthyClient{t: t, req: connectNATS(t, s, opts...), stop: make(chan struct{}), done: make(chan struct{})}
	h.roundTrip(0) // warm up before callers measure anything
	return h
}

// roundTrip sends one request and checks the echo.
func (h *healthyClient) roundTrip(i int) error {
	want := "ping " + strconv.Itoa(i)
	m, err := h.req.Request("hostile.echo", []byte(want), testTimeout)
	if err != nil {
		return err
	}
	if string(m.Data) != "echo:"+want {
		return fmt.Errorf("reply %q; want %q", m.Data, "echo:"+want)
	}
	return nil
}

// run keeps round-tripping until halt.
func (h *healthyClient) run() {
	go func() {
		defer close(h.done)
		for i := 1; ; i++ {
			select {
			case <-h.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := h.roundTrip(i); err != nil {
				h.fail.Add(1)
				h.lastErr.Store(err.Error())
				continue
			}
			h.ok.Add(1)
		}
	}()
}

// halt stops the background loop and fails the test if any round trip
// failed; then it round-trips once more.
func (h *healthyClient) halt() {
	h.t.Helper()
	close(h.stop)
	<-h.done
	if n := h.fail.Load(); n > 0 {
		h.t.Errorf("healthy client: %d of %d round trips failed, last: %v", n, n+h.ok.Load(), h.lastErr.Load())
	}
	if err := h.roundTrip(-1); err != nil {
		h.t.Fatalf("healthy client after the attack: %v", err)
	}
	h.t.Logf("healthy client: %d round trips during the attack", h.ok.Load())
}

// exchange is what a bad client saw: everything the server sent, and
// whether the server closed the connection (rather than the read timing
// out).
type exchange struct {
	out    []byte
	closed bool
	err    error // dial failure
}

// badClient sends chunks to addr with gap between them, then reads until
// the server closes the connection or timeout passes. It never touches a
// testing.T, so it may run on any goroutine. Write errors end the sending:
// the server may close before it has read everything.
func badClient(addr string, chunks [][]byte, gap, timeout time.Duration) exchange {
	conn, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return exchange{err: err}
	}
	defer conn.Close()
	var out bytes.Buffer
	readDone := make(chan bool, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(timeout))
		_, err := io.Copy(&out, conn)
		var ne net.Error
		readDone <- !(errors.As(err, &ne) && ne.Timeout())
	}()
	for i, c := range chunks {
		if i > 0 && gap > 0 {
			select {
			case closed := <-readDone:
				return exchange{out: out.Bytes(), closed: closed}
			case <-time.After(gap):
			}
		}
		conn.SetWriteDeadline(time.Now().Add(testTimeout))
		if _, err := conn.Write(c); err != nil {
			break
		}
	}
	closed := <-readDone
	return exchange{out: out.Bytes(), closed: closed}
}

// untilPong sends send, which ends in a PING, to addr and reads until the
// server's PONG (or a close, or testTimeout). It never touches a
// testing.T, so it may run on any goroutine.
func untilPong(addr string, send []byte) exchange {
	conn, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return exchange{err: err}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := conn.Write(send); err != nil {
		return exchange{err: err}
	}
	var out []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(out, []byte("PONG\r\n")) {
		n, err := conn.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			return exchange{out: out, closed: !(errors.As(err, &ne) && ne.Timeout())}
		}
	}
	return exchange{out: out}
}

// checkRefused checks that a bad client was refused: it got INFO, was
// closed, and every -ERR it got is want or one of the errors in open
// (errors that leave a connection open). With strict it must have got
// exactly one, as the last thing sent. (A client that sent more than the
// server read before closing may see its connection reset before the
// -ERR arrives, so large inputs are checked without strict.)
func checkRefused(x exchange, want string, strict bool, open ...string) error {
	if x.err != nil {
		return x.err
	}
	if !bytes.HasPrefix(x.out, []byte("INFO {")) {
		return fmt.Errorf("output %q does not start with INFO", trunc(x.out))
	}
	if !x.closed {
		return fmt.Errorf("still open after %v; output %q", testTimeout, trunc(x.out))
	}
	wantLine := "-ERR '" + want + "'"
	lines := strings.Split(strings.TrimSuffix(string(x.out), "\r\n"), "\r\n")
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "-ERR") && !slices.Contains(open, strings.TrimSuffix(strings.TrimPrefix(l, "-ERR '"), "'")) {
			if l != wantLine {
				return fmt.Errorf("got %q; want %q", l, wantLine)
			}
			n++
		}
	}
	if strict && (n != 1 || lines[len(lines)-1] != wantLine) {
		return fmt.Errorf("output %q; want it to end with the one line %q", trunc(x.out), wantLine)
	}
	return nil
}

func trunc(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}

// runBadClients runs every case on workers goroutines and reports each
// case's error through check.
func runBadClients[T any](cases []T, workers int, fn func(T) error) []error {
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cases) {
					return
				}
				errs[i] = fn(cases[i])
			}
		}()
	}
	wg.Wait()
	return errs
}
