package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

// wantAlive fails unless nc still delivers its own messages: it subscribes,
// publishes and receives on subject.
func wantAlive(t testing.TB, nc *nats.Conn, subject string) {
	t.Helper()
	if !nc.IsConnected() {
		t.Fatalf("connection closed; want it open")
	}
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Unsubscribe()
	if err := nc.Publish(subject, []byte("still here")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if m, err := sub.NextMsg(testTimeout); err != nil || string(m.Data) != "still here" {
		t.Fatalf("message on the old connection: %v, %v; want it delivered", m, err)
	}
}

// TestTLSReloadRotatesCertificate replaces the server certificate with one
// from another CA: new clients must trust the new CA, and a connection
// made before the reload keeps its session.
func TestTLSReloadRotatesCertificate(t *testing.T) {
	ca1 := newTestPKI(t, "CA1")
	ca2 := newTestPKI(t, "CA2")
	opts := server.Options{TLS: ca1.serverConfig(false), TLSRequired: true}
	s := startCoreServer(t, opts)
	first := connectNATS(t, s, nats.RootCAs(ca1.caFile))

	opts.TLS = ca2.serverConfig(false)
	reload(t, s, nil, opts)
	roundTrip(t, s, nats.RootCAs(ca2.caFile))
	wantConnectErr(t, s, "certificate", nats.RootCAs(ca1.caFile))
	wantAlive(t, first, "rotate.first")
	if st, err := first.TLSConnectionState(); err != nil || st.PeerCertificates[0].Issuer.CommonName != "CA1" {
		t.Errorf("old connection's server certificate: %v; want the one from CA1", err)
	}
}

// TestTLSReloadClientVerification turns client certificates on and off,
// and handshake-first on, with a reload; INFO follows.
func TestTLSReloadClientVerification(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	cert, key := pki.clientCert("sensor-17")
	opts := server.Options{TLS: pki.serverConfig(false), TLSRequired: true}
	s := startCoreServer(t, opts)
	first := connectNATS(t, s, nats.RootCAs(pki.caFile))

	opts.TLS = pki.serverConfig(true)
	reload(t, s, nil, opts)
	if info := dialRaw(t, s).info; info["tls_verify"] != true {
		t.Errorf("INFO tls_verify = %v after turning verification on; want true", info["tls_verify"])
	}
	wantConnectErr(t, s, "", nats.RootCAs(pki.caFile))
	roundTrip(t, s, nats.RootCAs(pki.caFile), nats.ClientCert(cert, key))
	wantAlive(t, first, "verify.on")

	opts.TLS = pki.serverConfig(false)
	reload(t, s, nil, opts)
	if info := dialRaw(t, s).info; info["tls_verify"] == true {
		t.Errorf("INFO tls_verify = true after turning verification off; want false")
	}
	roundTrip(t, s, nats.RootCAs(pki.caFile))

	opts.TLSHandshakeFirst = true
	opts.TLSTimeout = time.Second // the good client's handshake must beat it too
	reload(t, s, nil, opts)
	roundTrip(t, s, nats.RootCAs(pki.caFile), nats.TLSHandshakeFirst())
	if b := dialRawNoInfo(t, s).expectClosed(); len(b) != 0 {
		t.Errorf("server sent %q before the TLS handshake; want nothing", b)
	}
	wantAlive(t, first, "first.after")
}

// TestTLSReloadOnOffNeedsRestart checks that a reload cannot turn TLS off
// (nor on), and that a TLS configuration without a certificate is refused
// and changes nothing.
func TestTLSReloadOnOffNeedsRestart(t *testing.T) {
	pki := newTestPKI(t, "Wren Test CA")
	s := startCoreServer(t, server.Options{TLS: pki.serverConfig(false), TLSRequired: true})

	reload(t, s, nil, server.Options{})
	if info := dialRaw(t, s).info; info["tls_required"] != true {
		t.Errorf("INFO tls_required = %v after a reload without TLS; want TLS still required", info["tls_required"])
	}
	rc := dialRaw(t, s)
	rc.send("PING\r\n")
	rc.expect("-ERR 'Secure Connection - TLS Required'")

	err := s.Reload(server.Options{Host: "127.0.0.1", TLS: &tls.Config{}, TLSRequired: true})
	if err == nil || !strings.Contains(err.Error(), "no server certificate") {
		t.Errorf("Reload with a certificate-less TLS config = %v; want an error", err)
	}
	roundTrip(t, s, nats.RootCAs(pki.caFile))

	plain := startCoreServer(t, server.Options{})
	opts := server.Options{TLS: pki.serverConfig(false), TLSRequired: true}
	reload(t, plain, nil, opts)
	if info := dialRaw(t, plain).info; info["tls_available"] == true {
		t.Errorf("INFO tls_available = true after a reload turning TLS on; want a restart needed")
	}
	roundTrip(t, plain)
}

// copyInto copies the file src to dst.
func copyInto(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitLogCount waits until the daemon's log contains s at least n times.
func (p *wrenProc) waitLogCount(s string, n int) {
	p.t.Helper()
	waitUntil(p.t, func() error {
		if got := strings.Count(p.logText(), s); got < n {
			return fmt.Errorf("log has %q %d times; want %d:\n%s", s, got, n, p.logText())
		}
		return nil
	})
}

// TestTLSReloadDaemonFiles runs the daemon binary with certificate, key and
// CA files that are replaced while the config file stays the same. A
// mismatched pair, a missing key and an expired certificate are refused on
// SIGHUP, keeping the running certificate; a good new pair from another CA
// is taken, and the connection made before it keeps working.
func TestTLSReloadDaemonFiles(t *testing.T) {
	ca1 := newTestPKI(t, "CA1")
	ca2 := newTestPKI(t, "CA2")
	cert1, key1 := ca1.clientCert("sensor-1")
	cert2, key2 := ca2.clientCert("sensor-2")
	dir := t.TempDir()
	certFile := filepath.Join(dir, "server.pem")
	keyFile := filepath.Join(dir, "server-key.pem")
	caFile := filepath.Join(dir, "ca.pem")
	install := func(cert, key, ca string) {
		copyInto(t, cert, certFile)
		copyInto(t, key, keyFile)
		copyInto(t, ca, caFile)
	}
	install(ca1.serverCert, ca1.serverKey, ca1.caFile)
	p := startWren(t, "-c", writeFile(t, dir, "wren.toml", fmt.Sprintf(`host = "127.0.0.1"
port = 0
[tls]
cert_file = %q
key_file = %q
ca_file = %q
verify = true
`, certFile, keyFile, caFile)))
	old := []nats.Option{nats.RootCAs(ca1.caFile), nats.ClientCert(cert1, key1)}
	first, err := daemonConnect(t, p, old...)
	if err != nil {
		t.Fatal(err)
	}

	const failed = `configuration reload failed; the running configuration stays in force" error="`
	_, expiredCert, expiredKey := ca1.issue("expired", func(c *x509.Certificate) {
		c.NotBefore = time.Now().Add(-48 * time.Hour)
		c.NotAfter = time.Now().Add(-time.Hour)
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	})
	bad := []struct {
		name     string
		cert     string
		key      string
		wantText string
	}{
		{"mismatched pair", ca2.serverCert, ca1.serverKey, "private key does not match public key"},
		{"missing key", ca2.serverCert, "", "no such file"},
		{"expired", expiredCert, expiredKey, "expired at"},
	}
	for i, tt := range bad {
		copyInto(t, tt.cert, certFile)
		if tt.key == "" {
			os.Remove(keyFile)
		} else {
			copyInto(t, tt.key, keyFile)
		}
		p.signal(syscall.SIGHUP)
		p.waitLogCount(failed, i+1)
		last := p.logText()[strings.LastIndex(p.logText(), failed):]
		if line := last[:strings.IndexByte(last, '\n')]; !strings.Contains(line, "tls.cert_file") || !strings.Contains(line, tt.wantText) {
			t.Errorf("%s: log line %q; want tls.cert_file and %q", tt.name, line, tt.wantText)
		}
		if _, err := daemonConnect(t, p, old...); err != nil {
			t.Errorf("%s: a CA1 client after the refused reload: %v; want the old certificate in force", tt.name, err)
		}
	}

	install(ca2.serverCert, ca2.serverKey, ca2.caFile)
	p.signal(syscall.SIGHUP)
	p.waitLog("TLS configuration reloaded for new connections")
	p.waitLog("configuration reloaded")
	nc, err := daemonConnect(t, p, nats.RootCAs(ca2.caFile), nats.ClientCert(cert2, key2))
	if err != nil {
		t.Fatalf("a CA2 client after the reload: %v", err)
	}
	if _, err := daemonConnect(t, p, old...); err == nil {
		t.Errorf("a CA1 client connected after the reload; want it refused")
	}
	if _, err := daemonConnect(t, p, nats.RootCAs(ca2.caFile), nats.ClientCert(cert1, key1)); err == nil {
		t.Errorf("a CA1 client certificate accepted after the CA file changed; want it refused")
	}
	wantAlive(t, first, "daemon.first")
	sub, err := first.SubscribeSync("daemon.cross")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, first)
	nc.Publish("daemon.cross", []byte("x"))
	if _, err := sub.NextMsg(testTimeout); err != nil {
		t.Errorf("message from a new client to the old one: %v", err)
	}
	if strings.Contains(p.logText(), "needs a restart") {
		t.Errorf("log mentions a restart; want every TLS file change reloaded:\n%s", p.logText())
	}
}
