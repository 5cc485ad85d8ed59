package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
	"golang.org/x/crypto/bcrypt"
)

// startAuthServer starts a broker that authenticates clients with cfg;
// other fields of opts as startCoreServer takes them.
func startAuthServer(t testing.TB, cfg auth.Config, opts server.Options) *server.Server {
	t.Helper()
	opts.Auth = mustAuth(t, cfg)
	return startCoreServer(t, opts)
}

func mustAuth(t testing.TB, cfg auth.Config) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	return a
}

// tryConnect connects a nats.go client without failing the test; the
// connection, if any, is closed when the test ends.
func tryConnect(t testing.TB, s *server.Server, opts ...nats.Option) (*nats.Conn, error) {
	t.Helper()
	opts = append([]nats.Option{nats.NoReconnect(), nats.Timeout(testTimeout)}, opts...)
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// wantConnectErr fails unless connecting with opts fails with an error
// whose text contains want.
func wantConnectErr(t testing.TB, s *server.Server, want string, opts ...nats.Option) {
	t.Helper()
	nc, err := tryConnect(t, s, opts...)
	if err == nil {
		nc.Close()
		t.Fatalf("connect succeeded; want an error containing %q", want)
	}
	if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
		t.Fatalf("connect error = %v; want one containing %q", err, want)
	}
}

// lastErrAfterFlush flushes nc and returns the last error the server
// reported to it (nats.go records an -ERR before it reads the PONG).
func lastErrAfterFlush(t testing.TB, nc *nats.Conn) error {
	t.Helper()
	if err := nc.FlushTimeout(testTimeout); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return nc.LastError()
}

// wantViolation fails unless nc's last error is exactly the -ERR text
// want, as nats.go reports it, and nc is still connected.
func wantViolation(t testing.TB, nc *nats.Conn, want string) {
	t.Helper()
	err := lastErrAfterFlush(t, nc)
	if want == "" {
		if err != nil {
			t.Fatalf("server reported %v; want no error", err)
		}
		return
	}
	if got := "nats: permissions violation: " + want; err == nil || err.Error() != got {
		t.Fatalf("server reported %v; want %q", err, got)
	}
	if !nc.IsConnected() {
		t.Fatalf("connection closed after a permissions violation; want it open")
	}
}

// roundTrip checks that the server still serves a fresh client: it
// subscribes, publishes and receives, connecting with opts.
func roundTrip(t testing.TB, s *server.Server, opts ...nats.Option) {
	t.Helper()
	nc := connectNATS(t, s, opts...)
	sub, err := nc.SubscribeSync("roundtrip.check")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := nc.Publish("roundtrip.check", []byte("ok")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if m, err := sub.NextMsg(testTimeout); err != nil || string(m.Data) != "ok" {
		t.Fatalf("round trip: %v, %v; want the message back", m, err)
	}
	nc.Close()
}

// newUserKey returns a fresh user nkey pair, its public key, and the path
// of a seed file holding it.
func newUserKey(t testing.TB) (nkeys.KeyPair, string, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return kp, pub, path
}

func nkeyOption(t testing.TB, seedFile string) nats.Option {
	t.Helper()
	o, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatalf("NkeyOptionFromSeed: %v", err)
	}
	return o
}

func bcryptOf(t testing.TB, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// closedWith returns an option and a channel that receives, when the
// connection closes, the last error the server sent it (nats.go reports it
// to the error handler; the close itself then records EOF).
func closedWith() (nats.Option, <-chan error) {
	ch := make(chan error, 1)
	var last error // written and read on nats.go's callback goroutine
	return func(o *nats.Options) error {
		o.AsyncErrorCB = func(_ *nats.Conn, _ *nats.Subscription, err error) { last = err }
		o.ClosedCB = func(nc *nats.Conn) {
			if last == nil {
				last = nc.LastError()
			}
			ch <- last
		}
		return nil
	}, ch
}

// waitClosed waits for a closedWith channel and checks the error text.
func waitClosed(t testing.TB, ch <-chan error, want string) {
	t.Helper()
	select {
	case err := <-ch:
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Fatalf("connection closed with %v; want an error containing %q", err, want)
		}
	case <-time.After(testTimeout):
		t.Fatalf("connection still open after %v; want it closed with %q", testTimeout, want)
	}
}
