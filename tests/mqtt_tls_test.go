package tests

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/server"
	mqttl "github.com/wrenmq/wren/server/mqtt"
)

// MQTT over TLS with client certificates: the certificate logs the device
// in as the user it maps to, whose permissions then apply; a device without
// a certificate does not get in.
func TestMQTTTLSClientCertificate(t *testing.T) {
	pki := newTestPKI(t, "mqtt-ca")
	a, err := auth.New(auth.Config{TLSMap: true, Users: []auth.User{{Name: "CN=meter-9,O=Wren Test",
		Permissions: &auth.Permissions{Publish: auth.SubjectPermission{Allow: []string{"meters.>"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startCoreServer(t, server.Options{Auth: a})
	ml, err := mqttl.New(srv, mqttl.Options{Host: "127.0.0.1", TLS: pki.serverConfig(true)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ml.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ml.Close() })
	got := make(chan string, 4)
	watch := srv.InProc("watch")
	defer watch.Close()
	watch.Subscribe(">", "", func(m *protocol.Msg) { got <- string(m.Subject) })

	certFile, keyFile := pki.clientCert("meter-9")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(pki.ca)
	connect := func(certs []tls.Certificate) (paho.Client, error) {
		o := paho.NewClientOptions().AddBroker("ssl://" + ml.Addr().String()).SetClientID("meter-9").
			SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(testTimeout).
			SetTLSConfig(&tls.Config{RootCAs: roots, Certificates: certs, ServerName: "localhost"})
		c := paho.NewClient(o)
		tok := c.Connect()
		tok.WaitTimeout(testTimeout)
		return c, tok.Error()
	}
	if _, err := connect(nil); err == nil {
		t.Fatal("connected over TLS without a client certificate")
	}
	c, err := connect([]tls.Certificate{cert})
	if err != nil {
		t.Fatalf("connect with the certificate: %v", err)
	}
	defer c.Disconnect(0)
	for _, topic := range []string{"other/x", "meters/9/kwh"} {
		if tok := c.Publish(topic, 1, false, "12.5"); !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	select {
	case s := <-got:
		if s != "meters.9.kwh" {
			t.Fatalf("got %s first: the certificate user's publish permissions were not applied", s)
		}
	case <-time.After(testTimeout):
		t.Fatal("the publish did not arrive")
	}
}
