package mqtt

import (
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/wrenmq/wren/auth"
)

// After a restart on the same store, a persistent session's subscriptions
// are in place before its client comes back, as the user it belonged to:
// messages published in between are queued for it, retained messages are
// there, and the user's permissions still apply.
func TestRestartRestoresSessions(t *testing.T) {
	perms := &auth.Permissions{Subscribe: auth.SubjectPermission{Allow: []string{"r.>", "r"}, Deny: []string{"r.secret"}}}
	so := func() server0Opts {
		return authOpts(t, auth.Config{Users: []auth.User{{Name: "dev", Password: "pw", Permissions: perms}, {Name: "pub", Password: "pw"}}})
	}
	st := NewMemStore()
	login := func(user string) func(o *paho.ClientOptions) {
		return func(o *paho.ClientOptions) { o.SetUsername(user).SetPassword("pw") }
	}

	b := startBroker(t, so(), Options{Store: st})
	sub := b.client311(t, "dev1", false, login("dev"))
	wait(t, sub.Subscribe("r/#", 1, nil))
	sub.Disconnect(100)
	pub := b.client311(t, "pub1", true, login("pub"))
	wait(t, pub.Publish("r/keep", 1, true, "retained"))
	waitFor(t, func() bool { return b.l.Stats().Connections == 1 })
	b.stop()

	b2 := startBroker(t, so(), Options{Store: st})
	if st := b2.l.Stats(); st.Sessions != 1 || st.Retained != 1 {
		t.Fatalf("after restart: %+v; want 1 session and 1 retained message", st)
	}
	pub2 := b2.client311(t, "pub2", true, login("pub"))
	wait(t, pub2.Publish("r/secret", 1, false, "hidden"))
	wait(t, pub2.Publish("r/x", 1, false, "while away"))
	ib := newInbox()
	b2.client311(t, "dev1", false, func(o *paho.ClientOptions) {
		login("dev")(o)
		o.SetDefaultPublishHandler(ib.handler)
	})
	// The retained publish reached the session live before the restart;
	// the message published after it, while the client was away.
	got := ib.waitN(t, 2)
	if string(got[0].Payload()) != "retained" || string(got[1].Payload()) != "while away" || got[1].Topic() != "r/x" {
		t.Fatalf("got %s, %s", describe(got[0]), describe(got[1]))
	}
	wait(t, pub2.Publish("r/y", 1, false, "after"))
	if got := ib.waitN(t, 3); string(got[2].Payload()) != "after" {
		t.Fatalf("then %s", describe(got[2]))
	}
	for _, m := range ib.waitN(t, 3) {
		if m.Topic() == "r/secret" {
			t.Fatal("a message the user may not receive was queued for the restored session")
		}
	}
}

type server0Opts = serverOptions
