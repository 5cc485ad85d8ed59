package mqtt

import (
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

func authOpts(t *testing.T, cfg auth.Config) server.Options {
	t.Helper()
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return server.Options{Auth: a}
}

// MQTT clients log in as the NATS users, and a wrong password is refused
// with the protocol's code (3.1.1: 4, MQTT 5: 0x86).
func TestMQTTUserPassword(t *testing.T) {
	b := startBroker(t, authOpts(t, auth.Config{Users: []auth.User{{Name: "dev", Password: "pw"}}}), Options{})
	b.client311(t, "ok", true, func(o *pahov3.ClientOptions) { o.SetUsername("dev").SetPassword("pw") })

	o := pahov3.NewClientOptions().AddBroker(b.mqttURL()).SetClientID("bad").SetUsername("dev").SetPassword("nope").SetAutoReconnect(false).SetProtocolVersion(4)
	c := pahov3.NewClient(o)
	tok := c.Connect()
	tok.WaitTimeout(testTimeout)
	if tok.Error() == nil || tok.Error().Error() != packets.ErrorRefusedBadUsernameOrPassword.Error() {
		t.Fatalf("3.1.1 wrong password: %v", tok.Error())
	}

	nc := dialRaw(t, b)
	cp := (&mqttConnect5{id: "bad5", user: "dev", pass: "nope"}).bytes()
	nc.Write(cp)
	got := readAllUntilClose(t, nc)
	if len(got) < 4 || got[0] != 0x20 || got[3] != 0x86 {
		t.Fatalf("MQTT 5 wrong password: % x", got)
	}
}

// A token configuration takes the token in the password field.
func TestMQTTTokenInPassword(t *testing.T) {
	b := startBroker(t, authOpts(t, auth.Config{Token: "t0k3n"}), Options{})
	b.client311(t, "tok", true, func(o *pahov3.ClientOptions) { o.SetUsername("anything").SetPassword("t0k3n") })
	c := pahov3.NewClient(pahov3.NewClientOptions().AddBroker(b.mqttURL()).SetClientID("notok").SetPassword("wrong").SetUsername("x").SetAutoReconnect(false))
	tok := c.Connect()
	tok.WaitTimeout(testTimeout)
	if tok.Error() == nil {
		t.Fatal("a wrong token connected")
	}
}

// Publish and subscribe permissions apply to MQTT clients as to NATS
// clients, and to retained messages: a retained message on a subject the
// user may not receive is not delivered through a wider filter.
func TestMQTTPermissions(t *testing.T) {
	perms := &auth.Permissions{
		Publish:   auth.SubjectPermission{Allow: []string{"pub.>"}},
		Subscribe: auth.SubjectPermission{Allow: []string{"pub.>"}, Deny: []string{"pub.secret"}},
	}
	b := startBroker(t, authOpts(t, auth.Config{Users: []auth.User{
		{Name: "dev", Password: "pw", Permissions: perms},
		{Name: "admin", Password: "pw"},
	}}), Options{})
	admin := b.client5(t, "admin", &paho.Connect{CleanStart: true, Username: "admin", UsernameFlag: true, Password: []byte("pw"), PasswordFlag: true})
	admin.pub(t, &paho.Publish{Topic: "pub/secret", QoS: 1, Retain: true, Payload: []byte("s")})
	admin.pub(t, &paho.Publish{Topic: "pub/open", QoS: 1, Retain: true, Payload: []byte("o")})

	dev := b.client5(t, "dev", &paho.Connect{CleanStart: true, Username: "dev", UsernameFlag: true, Password: []byte("pw"), PasswordFlag: true})
	resp, err := dev.Publish(ctx(t), &paho.Publish{Topic: "other/x", QoS: 1, Payload: []byte("x")})
	if err == nil && (resp == nil || resp.ReasonCode != 0x87) {
		t.Fatalf("publish outside permissions: %+v", resp)
	}
	sa, err := dev.Subscribe(ctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "other/#", QoS: 1}, {Topic: "pub/#", QoS: 1}}})
	if err != nil && sa == nil {
		t.Fatal(err)
	}
	if len(sa.Reasons) != 2 || sa.Reasons[0] != 0x87 || sa.Reasons[1] != 1 {
		t.Fatalf("SUBACK reasons %v; want [0x87 1]", sa.Reasons)
	}
	got := dev.waitN(t, 1)
	time.Sleep(100 * time.Millisecond)
	if dev.count() != 1 || string(got[0].Payload) != "o" {
		t.Fatalf("retained on subscribe: %d messages, first %q; want only pub/open", dev.count(), got[0].Payload)
	}
	// Live messages on the denied subject are withheld too.
	admin.pub(t, &paho.Publish{Topic: "pub/secret", QoS: 1, Payload: []byte("s2")})
	admin.pub(t, &paho.Publish{Topic: "pub/open", QoS: 1, Payload: []byte("o2")})
	if m := dev.waitN(t, 2)[1]; string(m.Payload) != "o2" {
		t.Fatalf("live: got %q", m.Payload)
	}
}

// The broker's own MQTT state ($MQTT.>) is out of MQTT clients' reach.
func TestMQTTStateSubjectsReserved(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	c := b.client5(t, "nosy", nil)
	resp, err := c.Publish(ctx(t), &paho.Publish{Topic: "$MQTT/s/abc", QoS: 1, Payload: []byte("x")})
	if err == nil && (resp == nil || resp.ReasonCode != 0x87) {
		t.Fatalf("publish to $MQTT/s/abc: %+v", resp)
	}
	sa, _ := c.Subscribe(ctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$MQTT/#", QoS: 1}}})
	if sa == nil || len(sa.Reasons) != 1 || sa.Reasons[0] != 0x87 {
		t.Fatalf("subscribe to $MQTT/#: %+v", sa)
	}
}
