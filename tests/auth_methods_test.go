package tests

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

const authViolation = "-ERR 'Authorization Violation'"

func TestAuthToken(t *testing.T) {
	for _, tt := range []struct {
		name, configured string
	}{
		{"plain", "s3cr3t-token"},
		{"bcrypt", bcryptOf(t, "s3cr3t-token")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startAuthServer(t, auth.Config{Token: tt.configured}, server.Options{})
			roundTrip(t, s, nats.Token("s3cr3t-token"))
			wantConnectErr(t, s, "authorization violation", nats.Token("wrong"))
			wantConnectErr(t, s, "authorization violation")
			wantConnectErr(t, s, "authorization violation", nats.UserInfo("s3cr3t-token", ""))
		})
	}
}

func TestAuthUserPassword(t *testing.T) {
	s := startAuthServer(t, auth.Config{Users: []auth.User{
		{Name: "alice", Password: "wonderland"},
		{Name: "bob", Password: bcryptOf(t, "builder")},
	}}, server.Options{})
	tests := []struct {
		name       string
		user, pass string
		ok         bool
	}{
		{"plain", "alice", "wonderland", true},
		{"bcrypt", "bob", "builder", true},
		{"wrong password", "alice", "wonderlan", false},
		{"wrong bcrypt password", "bob", "Builder", false},
		{"bcrypt hash as password", "bob", bcryptOf(t, "builder"), false},
		{"unknown user", "carol", "wonderland", false},
		{"other user's password", "alice", "builder", false},
		{"no password", "alice", "", false},
		{"no user", "", "wonderland", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := nats.UserInfo(tt.user, tt.pass)
			if tt.ok {
				roundTrip(t, s, opt)
				return
			}
			wantConnectErr(t, s, "authorization violation", opt)
		})
	}
	roundTrip(t, s, nats.UserInfo("alice", "wonderland")) // the server is unaffected
}

func TestAuthNkey(t *testing.T) {
	_, pub, seedFile := newUserKey(t)
	_, _, strangerSeed := newUserKey(t)
	s := startAuthServer(t, auth.Config{Users: []auth.User{{Nkey: pub}, {Name: "alice", Password: "pw"}}}, server.Options{})
	roundTrip(t, s, nkeyOption(t, seedFile))
	wantConnectErr(t, s, "authorization violation", nkeyOption(t, strangerSeed))
	wantConnectErr(t, s, "authorization violation")
	roundTrip(t, s, nats.UserInfo("alice", "pw")) // users of both kinds together
}

// TestAuthInfo checks what INFO says about authentication: auth_required
// whenever it is configured, a fresh nonce only when nkey users exist.
func TestAuthInfo(t *testing.T) {
	_, pub, _ := newUserKey(t)
	tests := []struct {
		name         string
		cfg          *auth.Config
		wantRequired bool
		wantNonce    bool
	}{
		{"none", nil, false, false},
		{"token", &auth.Config{Token: "t"}, true, false},
		{"users", &auth.Config{Users: []auth.User{{Name: "a", Password: "p"}}}, true, false},
		{"nkeys", &auth.Config{Users: []auth.User{{Nkey: pub}}}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *server.Server
			if tt.cfg == nil {
				s = startCoreServer(t, server.Options{})
			} else {
				s = startAuthServer(t, *tt.cfg, server.Options{})
			}
			info1, info2 := dialRaw(t, s).info, dialRaw(t, s).info
			if got, _ := info1["auth_required"].(bool); got != tt.wantRequired {
				t.Errorf("auth_required = %v; want %v", got, tt.wantRequired)
			}
			n1, _ := info1["nonce"].(string)
			n2, _ := info2["nonce"].(string)
			if !tt.wantNonce {
				if n1 != "" {
					t.Errorf("nonce = %q; want none", n1)
				}
				return
			}
			if len(n1) != auth.NonceLen || len(n2) != auth.NonceLen || n1 == n2 {
				t.Errorf("nonces %q and %q; want two different %d-character nonces", n1, n2, auth.NonceLen)
			}
		})
	}
}

// TestAuthBadNkeySignatures drives the nkey handshake by hand: a signature
// of the wrong bytes, a signature by another key, and a signature replayed
// from another connection's nonce are all refused and the connection is
// closed; the server keeps serving.
func TestAuthBadNkeySignatures(t *testing.T) {
	kp, pub, seedFile := newUserKey(t)
	other, _, _ := newUserKey(t)
	s := startAuthServer(t, auth.Config{Users: []auth.User{{Nkey: pub}}}, server.Options{})
	sign := func(k interface{ Sign([]byte) ([]byte, error) }, data string) string {
		sig, err := k.Sign([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(sig)
	}
	connectLine := func(sig string) string {
		return `CONNECT {"verbose":false,"pedantic":false,"nkey":"` + pub + `","sig":"` + sig + `"}` + "\r\nPING\r\n"
	}

	// The good handshake, by hand, so the refusals below are not a
	// mistake in how the test signs.
	rc := dialRaw(t, s)
	rc.send(connectLine(sign(kp, rc.info["nonce"].(string))))
	rc.expect("PONG")

	captured := dialRaw(t, s)
	oldNonce := captured.info["nonce"].(string)
	tests := []struct {
		name string
		sig  func(nonce string) string
	}{
		{"wrong bytes signed", func(nonce string) string { return sign(kp, nonce+"x") }},
		{"other key", func(nonce string) string { return sign(other, nonce) }},
		{"replayed from another nonce", func(string) string { return sign(kp, oldNonce) }},
		{"garbage", func(string) string { return "not-base64!" }},
		{"empty", func(string) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, s)
			nonce := rc.info["nonce"].(string)
			if nonce == oldNonce {
				t.Fatalf("two connections got the same nonce %q", nonce)
			}
			rc.send(connectLine(tt.sig(nonce)))
			rc.expect(authViolation)
			rc.expectClosed()
		})
	}
	roundTrip(t, s, nkeyOption(t, seedFile))
}

// TestAuthRawRefusals covers what a client can get wrong before it is
// authenticated, each refused with the reference server's error and a
// close.
func TestAuthRawRefusals(t *testing.T) {
	s := startAuthServer(t, auth.Config{Users: []auth.User{{Name: "alice", Password: "pw"}}},
		// The timeout is for the silent client; the others' CONNECT must be
		// read before it, which a loaded machine may take a while to do.
		server.Options{AuthTimeout: time.Second, MaxControlLine: 1024})
	tests := []struct {
		name, send, want string
	}{
		{"wrong password", `CONNECT {"user":"alice","pass":"nope"}` + "\r\n", authViolation},
		{"unknown user", `CONNECT {"user":"mallory","pass":"pw"}` + "\r\n", authViolation},
		{"no credentials", "CONNECT {}\r\n", authViolation},
		{"PUB before CONNECT", "PUB foo 2\r\nhi\r\n", authViolation},
		{"SUB before CONNECT", "SUB foo 1\r\n", authViolation},
		{"PING before CONNECT", "PING\r\n", authViolation},
		{"silent client", "", "-ERR 'Authentication Timeout'"},
		{"CONNECT too long", `CONNECT {"user":"alice","pass":"` + strings.Repeat("x", 2000) + `"}` + "\r\n", "-ERR 'maximum control line exceeded'"},
		{"CONNECT too long, unfinished", `CONNECT {"user":"` + strings.Repeat("x", 2000), "-ERR 'maximum control line exceeded'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, s)
			if tt.send != "" {
				rc.send(tt.send)
			}
			rc.expect(tt.want)
			rc.expectClosed()
		})
	}
	roundTrip(t, s, nats.UserInfo("alice", "pw"))
	waitUntil(t, func() error {
		if n := s.NumClients(); n != 0 {
			return fmt.Errorf("%d clients left after the refusals; want 0", n)
		}
		return nil
	})
}

// TestAuthTimeoutSparesAuthenticated checks that the auth timer stops at a
// good CONNECT.
func TestAuthTimeoutSparesAuthenticated(t *testing.T) {
	// The connect itself must beat the timeout, so it is not tight; the
	// timer started before the connect, so sleeping longer than the
	// timeout after it lets the timer run out.
	const timeout = time.Second
	s := startAuthServer(t, auth.Config{Token: "t"}, server.Options{AuthTimeout: timeout})
	nc := connectNATS(t, s, nats.Token("t"))
	time.Sleep(timeout + timeout/2)
	if err := nc.FlushTimeout(testTimeout); err != nil {
		t.Fatalf("Flush after the auth timeout passed: %v; want the connection alive", err)
	}
}

// TestAuthVerboseOK checks a verbose client gets +OK for a good CONNECT and
// nothing but the error for a bad one.
func TestAuthVerboseOK(t *testing.T) {
	s := startAuthServer(t, auth.Config{Token: "t"}, server.Options{})
	rc := dialRaw(t, s)
	rc.send(`CONNECT {"verbose":true,"auth_token":"t"}` + "\r\n")
	rc.expect("+OK")
	rc = dialRaw(t, s)
	rc.send(`CONNECT {"verbose":true,"auth_token":"x"}` + "\r\n")
	rc.expect(authViolation)
	rc.expectClosed()
}
