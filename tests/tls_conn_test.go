package tests

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

func TestTLSServer(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startCoreServer(t, server.Options{TLS: pki.serverConfig(false), TLSRequired: true})
	info := dialRaw(t, s).info
	if info["tls_required"] != true || info["tls_available"] != true {
		t.Errorf("INFO tls_required %v, tls_available %v; want both true", info["tls_required"], info["tls_available"])
	}
	roundTrip(t, s, nats.RootCAs(pki.caFile))
	// The client really checks the server's certificate.
	wantConnectErr(t, s, "certificate")
	other := newTestPKI(t, "Other CA")
	wantConnectErr(t, s, "certificate", nats.RootCAs(other.caFile))
}

func TestTLSRequiredRefusesPlain(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startCoreServer(t, server.Options{TLS: pki.serverConfig(false), TLSRequired: true})
	for _, first := range []string{"CONNECT {}\r\nPING\r\n", "PING\r\n", "PUB foo 1\r\nx\r\n"} {
		rc := dialRaw(t, s)
		rc.send(first)
		rc.expect("-ERR 'Secure Connection - TLS Required'")
		rc.expectClosed()
	}
	roundTrip(t, s, nats.RootCAs(pki.caFile))
}

func TestTLSHandshakeFirst(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startCoreServer(t, server.Options{
		TLS: pki.serverConfig(false), TLSRequired: true, TLSHandshakeFirst: true,
		// The good client's handshake must beat it too, which a loaded
		// machine under -race may take hundreds of milliseconds to do.
		TLSTimeout: time.Second,
	})
	roundTrip(t, s, nats.RootCAs(pki.caFile), nats.TLSHandshakeFirst())

	// A client that waits for INFO first gets nothing and is dropped when
	// the handshake times out.
	rc := dialRawNoInfo(t, s)
	if b := rc.expectClosed(); len(b) != 0 {
		t.Errorf("server sent %q before the TLS handshake; want nothing", b)
	}
	wantConnectErr(t, s, "", nats.RootCAs(pki.caFile), nats.Timeout(2*time.Second))
}

func TestTLSClientVerification(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startCoreServer(t, server.Options{TLS: pki.serverConfig(true), TLSRequired: true})
	if info := dialRaw(t, s).info; info["tls_verify"] != true {
		t.Errorf("INFO tls_verify = %v; want true", info["tls_verify"])
	}
	cert, key := pki.clientCert("sensor-17")
	roundTrip(t, s, nats.RootCAs(pki.caFile), nats.ClientCert(cert, key))

	wantConnectErr(t, s, "", nats.RootCAs(pki.caFile))
	stranger := newTestPKI(t, "Other CA")
	scert, skey := stranger.clientCert("sensor-17")
	wantConnectErr(t, s, "", nats.RootCAs(pki.caFile), nats.ClientCert(scert, skey))
	roundTrip(t, s, nats.RootCAs(pki.caFile), nats.ClientCert(cert, key))
}

// TestTLSMapUsers authenticates users by their client certificate
// (verify_and_map): by e-mail address, by subject DN and by common name,
// each with its own permissions.
func TestTLSMapUsers(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startAuthServer(t, auth.Config{TLSMap: true, Users: []auth.User{
		{Name: "alice@example.com", Permissions: pubPerms("alice.>")},
		{Name: "CN=bob,O=Wren Test", Permissions: pubPerms("bob.>")},
		{Name: "carol", Password: "pw"},
	}}, server.Options{TLS: pki.serverConfig(true), TLSRequired: true})
	tests := []struct {
		name     string
		cn       string
		emails   []string
		allowed  string
		denied   string
		wantFail bool
	}{
		{"by e-mail", "alice", []string{"alice@example.com"}, "alice.x", "bob.x", false},
		{"by DN", "bob", nil, "bob.x", "alice.x", false},
		{"by common name", "carol", nil, "anything", "", false},
		{"unknown certificate", "mallory", []string{"mallory@example.com"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key := pki.clientCert(tt.cn, tt.emails...)
			opts := []nats.Option{nats.RootCAs(pki.caFile), nats.ClientCert(cert, key)}
			if tt.wantFail {
				wantConnectErr(t, s, "authorization violation", opts...)
				return
			}
			// A password sent along is ignored: the certificate decides.
			nc := connectNATS(t, s, append(opts, nats.UserInfo("carol", "wrong"))...)
			nc.Publish(tt.allowed, nil)
			wantViolation(t, nc, "")
			if tt.denied != "" {
				nc.Publish(tt.denied, nil)
				wantViolation(t, nc, `Permissions Violation for Publish to "`+tt.denied+`"`)
			}
		})
	}
}

// TestTLSPlainWhenOptional serves plain and TLS clients on one port when
// TLS is offered but not required.
func TestTLSPlainWhenOptional(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startCoreServer(t, server.Options{TLS: pki.serverConfig(false)})
	info := dialRaw(t, s).info
	if info["tls_required"] == true || info["tls_available"] != true {
		t.Errorf("INFO tls_required %v, tls_available %v; want false and true", info["tls_required"], info["tls_available"])
	}
	roundTrip(t, s)
	roundTrip(t, s, nats.Secure(&tls.Config{RootCAs: certPool(t, pki)}))
}

func certPool(t testing.TB, pki *testPKI) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(pki.ca)
	return pool
}

// TestTLSSilentClient checks that a client that connects and never starts
// the TLS handshake is dropped without holding anything.
func TestTLSSilentClient(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startCoreServer(t, server.Options{
		TLS: pki.serverConfig(false), TLSRequired: true,
		// The good client's handshake and CONNECT must beat them too, which
		// a loaded machine under -race may take hundreds of milliseconds
		// to do.
		TLSTimeout: time.Second, AuthTimeout: time.Second,
	})
	dialRaw(t, s).expectClosed()
	roundTrip(t, s, nats.RootCAs(pki.caFile))
}
