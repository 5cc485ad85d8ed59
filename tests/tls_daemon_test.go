package tests

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestTLSDaemonConfig runs the daemon with a [tls] section: server
// certificate, client verification against a CA file and users mapped
// from certificates, then with handshake_first.
func TestTLSDaemonConfig(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	aliceCert, aliceKey := pki.clientCert("alice")
	malloryCert, malloryKey := pki.clientCert("mallory")
	dir := t.TempDir()
	body := fmt.Sprintf(`host = "127.0.0.1"
port = 0
[tls]
cert_file = %q
key_file = %q
ca_file = %q
verify_and_map = true
[[authorization.users]]
user = "alice"
permissions.publish = ["alice.>"]
`, pki.serverCert, pki.serverKey, pki.caFile)
	p := startWren(t, "-c", writeFile(t, dir, "wren.toml", body))

	nc, err := daemonConnect(t, p, nats.RootCAs(pki.caFile), nats.ClientCert(aliceCert, aliceKey))
	if err != nil {
		t.Fatalf("alice's certificate: %v", err)
	}
	nc.Publish("bob.x", nil)
	wantViolation(t, nc, `Permissions Violation for Publish to "bob.x"`)
	if _, err := daemonConnect(t, p, nats.RootCAs(pki.caFile), nats.ClientCert(malloryCert, malloryKey)); err == nil {
		t.Errorf("mallory's certificate (no such user) accepted")
	}
	if _, err := daemonConnect(t, p, nats.RootCAs(pki.caFile)); err == nil {
		t.Errorf("no client certificate accepted")
	}

	p2 := startWren(t, "-c", writeFile(t, dir, "first.toml", body), "--tls_handshake_first")
	if _, err := daemonConnect(t, p2, nats.RootCAs(pki.caFile), nats.ClientCert(aliceCert, aliceKey), nats.TLSHandshakeFirst()); err != nil {
		t.Errorf("handshake first: %v", err)
	}
}
