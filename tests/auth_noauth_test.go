package tests

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

// no_auth_user: a client with no credentials connects as the named user and
// gets exactly that user's permissions; a client that presents credentials
// is checked as usual, so wrong ones are still refused.
func TestNoAuthUser(t *testing.T) {
	_, pub, seed := newUserKey(t)
	cfg := auth.Config{
		Users: []auth.User{
			{Name: "admin", Password: "pw"},
			{Name: "device", Password: "devpw", Permissions: &auth.Permissions{
				Publish:   auth.SubjectPermission{Allow: []string{"telemetry.>"}},
				Subscribe: auth.SubjectPermission{Allow: []string{"commands.>", "_INBOX.>"}},
			}},
			{Nkey: pub},
		},
		NoAuthUser: "device",
	}
	s := startAuthServer(t, cfg, server.Options{})

	anon := connectNATS(t, s) // no credentials at all
	admin := connectNATS(t, s, nats.UserInfo("admin", "pw"))
	got, err := admin.SubscribeSync("telemetry.>")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, admin)
	anon.Publish("telemetry.t1", []byte("21.5"))
	wantViolation(t, anon, "")
	if m, err := got.NextMsg(testTimeout); err != nil || string(m.Data) != "21.5" {
		t.Fatalf("admin got %v, %v; want the anonymous device's reading", m, err)
	}
	anon.Publish("admin.reboot", nil)
	wantViolation(t, anon, `Permissions Violation for Publish to "admin.reboot"`)
	if _, err := anon.SubscribeSync("telemetry.>"); err != nil {
		t.Fatal(err)
	}
	wantViolation(t, anon, `Permissions Violation for Subscription to "telemetry.>"`)

	// Credentials presented are checked, not mapped.
	wantConnectErr(t, s, "authorization violation", nats.UserInfo("admin", "wrong"))
	wantConnectErr(t, s, "authorization violation", nats.UserInfo("nobody", "pw"))
	wantConnectErr(t, s, "authorization violation", nats.Token("sometoken"))
	roundTrip(t, s, nats.UserInfo("admin", "pw"))
	roundTrip(t, s, nkeyOption(t, seed))

	// Mapping to an nkey user (by its public key) works the same way.
	cfg.NoAuthUser = pub
	reload(t, s, &cfg, server.Options{})
	roundTrip(t, s)

	// Without no_auth_user the anonymous client is refused again, and a
	// reload that removes it closes the connections that relied on it.
	closedOpt, closed := closedWith()
	anon2 := connectNATS(t, s, closedOpt)
	_ = anon2
	cfg.NoAuthUser = ""
	reload(t, s, &cfg, server.Options{})
	waitClosed(t, closed, "authorization violation")
	wantConnectErr(t, s, "authorization violation")
}

func TestNoAuthUserMustExist(t *testing.T) {
	_, err := auth.New(auth.Config{
		Users:      []auth.User{{Name: "admin", Password: "pw"}},
		NoAuthUser: "ghost",
	})
	if err == nil {
		t.Fatal("auth.New accepted no_auth_user naming no configured user")
	}
}
