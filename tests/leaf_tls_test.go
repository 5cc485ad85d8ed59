package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"testing"

	"github.com/wrenmq/wren/server/leaf"
)

// A hub whose leaf port requires TLS and a client certificate accepts a
// link that checks the hub's certificate against the CA and presents its
// own; without a client certificate the link stays down and says why.
func TestLeafTLSWithClientCertificate(t *testing.T) {
	pki := newTestPKI(t, "Hub CA")
	o := hubOpts(t, "hub", "")
	o.LeafNode.TLSConfig = pki.serverConfig(true)
	o.LeafNode.TLSTimeout = 2
	hub := startHub(t, o)
	roots := x509.NewCertPool()
	roots.AddCert(pki.ca)
	certFile, keyFile := pki.clientCert("gw17")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	u := &url.URL{Scheme: "tls", Host: fmt.Sprintf("127.0.0.1:%d", o.LeafNode.Port)}

	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{u},
		TLS: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	gw.waitLinked(t, 1)
	local := connectNATS(t, gw.srv)
	sub, _ := local.SubscribeSync("secure.>")
	flushNATS(t, local)
	waitHubInterest(t, hub, "secure.>")
	remote := connectHub(t, hub)
	remote.Publish("secure.x", []byte("over TLS"))
	if m, err := sub.NextMsg(testTimeout); err != nil || string(m.Data) != "over TLS" {
		t.Fatalf("gateway got %v %v", m, err)
	}

	bare := startGateway(t, "gw-bare", leaf.Remote{URLs: []*url.URL{u},
		TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	waitUntil(t, func() error {
		if l := bare.node.Leafz(false).Leafs[0]; l.LastError == "" || l.Connected {
			return fmt.Errorf("link without a client certificate: %+v", l)
		}
		return nil
	})
	// And one that does not trust the hub's CA refuses the hub.
	untrusting := startGateway(t, "gw-untrusting", leaf.Remote{URLs: []*url.URL{u},
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	waitUntil(t, func() error {
		if l := untrusting.node.Leafz(false).Leafs[0]; l.LastError == "" || l.Connected {
			return fmt.Errorf("link that does not trust the hub: %+v", l)
		}
		return nil
	})
}
