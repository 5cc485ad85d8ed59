package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a certificate authority made for one test, with a server
// certificate for 127.0.0.1 and files that clients load.
type testPKI struct {
	t      testing.TB
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
	server tls.Certificate
	// serverCert and serverKey are the server certificate's files.
	serverCert, serverKey string
	serial                int64
}

func newTestPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	p := &testPKI{t: t, dir: t.TempDir(), serial: 1}
	key := p.newKey()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(p.serial),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Wren Test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caKey = key
	p.caFile = p.writePEM("ca.pem", "CERTIFICATE", der)
	p.server, p.serverCert, p.serverKey = p.issue("server", func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		c.DNSNames = []string{"localhost"}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	return p
}

func (p *testPKI) newKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return key
}

func (p *testPKI) writePEM(name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// issue signs a certificate shaped by edit and returns it with the paths
// of its certificate and key files.
func (p *testPKI) issue(name string, edit func(*x509.Certificate)) (tls.Certificate, string, string) {
	p.t.Helper()
	p.serial++
	key := p.newKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	certFile := p.writePEM(name+".pem", "CERTIFICATE", der)
	keyFile := p.writePEM(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		p.t.Fatal(err)
	}
	return cert, certFile, keyFile
}

// clientCert issues a client certificate for common name cn, with the
// given e-mail addresses, and returns its certificate and key files.
func (p *testPKI) clientCert(cn string, emails ...string) (string, string) {
	p.t.Helper()
	_, certFile, keyFile := p.issue("client-"+cn, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: cn, Organization: []string{"Wren Test"}}
		c.EmailAddresses = emails
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	return certFile, keyFile
}

// serverConfig returns the server's TLS configuration; with verify it
// requires client certificates signed by this CA.
func (p *testPKI) serverConfig(verify bool) *tls.Config {
	tc := &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if verify {
		pool := x509.NewCertPool()
		pool.AddCert(p.ca)
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc
}
