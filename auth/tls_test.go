package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"testing"
	"time"
)

// selfSigned returns a freshly generated self-signed client certificate
// with the given subject and SANs.
func selfSigned(t *testing.T, subject pkix.Name, emails, dns []string, uris ...string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(time.Now().UnixNano()),
		Subject:        subject,
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		EmailAddresses: emails,
		DNSNames:       dns,
	}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestAuthenticateTLSMap(t *testing.T) {
	kp, pub := userPub(t)
	a := mustNew(t, Config{TLSMap: true, Users: []User{
		{Name: "alice"},
		{Name: "CN=carol,OU=ops,O=Acme"},
		{Name: "dave@example.com"},
		{Name: "edge-7.example.com"},
		{Name: "spiffe://example.com/gw/9"},
		{Name: "frank", Password: "pw"},
		{Nkey: pub},
	}})
	chain := func(c *x509.Certificate) []*x509.Certificate { return []*x509.Certificate{c} }

	alice := selfSigned(t, pkix.Name{CommonName: "alice"}, nil, nil)
	carol := selfSigned(t, pkix.Name{CommonName: "carol", OrganizationalUnit: []string{"ops"}, Organization: []string{"Acme"}}, nil, nil)
	carolOtherOrg := selfSigned(t, pkix.Name{CommonName: "carol", OrganizationalUnit: []string{"ops"}, Organization: []string{"Other"}}, nil, nil)
	dave := selfSigned(t, pkix.Name{CommonName: "somebody"}, []string{"x@example.com", "dave@example.com"}, nil)
	edge := selfSigned(t, pkix.Name{CommonName: "device"}, nil, []string{"edge-7.example.com"})
	spiffe := selfSigned(t, pkix.Name{}, nil, nil, "spiffe://example.com/gw/9")
	stranger := selfSigned(t, pkix.Name{CommonName: "mallory"}, []string{"mallory@example.com"}, []string{"evil.example.com"})
	frank := selfSigned(t, pkix.Name{CommonName: "frank"}, nil, nil)

	nonce := a.NewNonce()
	sig, _ := kp.Sign(nonce)
	runAuthCases(t, a, nonce, []authCase{
		{"common name", ConnectCreds{TLSCerts: chain(alice)}, true, "alice", MethodTLS},
		{"RFC 2253 subject", ConnectCreds{TLSCerts: chain(carol)}, true, "CN=carol,OU=ops,O=Acme", MethodTLS},
		{"other subject", ConnectCreds{TLSCerts: chain(carolOtherOrg)}, false, "", ""},
		{"email SAN", ConnectCreds{TLSCerts: chain(dave)}, true, "dave@example.com", MethodTLS},
		{"DNS SAN", ConnectCreds{TLSCerts: chain(edge)}, true, "edge-7.example.com", MethodTLS},
		{"URI SAN", ConnectCreds{TLSCerts: chain(spiffe)}, true, "spiffe://example.com/gw/9", MethodTLS},
		{"unmapped", ConnectCreds{TLSCerts: chain(stranger)}, false, "", ""},
		{"unmapped with password", ConnectCreds{TLSCerts: chain(stranger), User: "frank", Pass: "pw"}, false, "", ""},
		{"password user by cert", ConnectCreds{TLSCerts: chain(frank)}, true, "frank", MethodTLS},
		{"password ignored", ConnectCreds{TLSCerts: chain(alice), User: "frank", Pass: "wrong"}, true, "alice", MethodTLS},
		{"no certificate", ConnectCreds{User: "frank", Pass: "pw"}, false, "", ""},
		{"nil leaf", ConnectCreds{TLSCerts: []*x509.Certificate{nil}}, false, "", ""},
		{"nkey still signs", ConnectCreds{Nkey: pub, Sig: encodeSig(sig)}, true, pub, MethodNkey},
	})
}

func TestTLSMapOff(t *testing.T) {
	a := mustNew(t, Config{Users: []User{{Name: "alice", Password: "pw"}}})
	alice := selfSigned(t, pkix.Name{CommonName: "alice"}, nil, nil)
	runAuthCases(t, a, nil, []authCase{
		{"cert alone", ConnectCreds{TLSCerts: []*x509.Certificate{alice}}, false, "", ""},
		{"cert and password", ConnectCreds{TLSCerts: []*x509.Certificate{alice}, User: "alice", Pass: "pw"}, true, "alice", MethodPassword},
	})
}
