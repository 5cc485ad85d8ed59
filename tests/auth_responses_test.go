package tests

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/conf"
)

// TestConfAllowResponsesDefaults: allow_responses = true, and a table that
// leaves max or expires out (or zero), take nats-server's defaults: one
// reply per request, within 2 minutes.
func TestConfAllowResponsesDefaults(t *testing.T) {
	for _, body := range []string{
		"allow_responses = true",
		"allow_responses = {}",
		"allow_responses = { max = 0, expires = '0s' }",
	} {
		c, err := conf.Parse("wren.toml", []byte("[authorization]\nuser = 'svc'\npassword = 'pw'\n[authorization.default_permissions]\n"+body+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		got := c.Authorization.DefaultPermissions.AllowResponses
		if want := (conf.ResponsePermission{Max: 1, Expires: conf.Duration(2 * time.Minute)}); got == nil || *got != want {
			t.Errorf("%s: allow_responses = %+v; want %+v", body, got, want)
		}
	}
}

// TestConfAllowResponsesExpire runs the daemon binary with a responder that
// may publish nothing but replies, within expires and max: a reply sent in
// time gets through, a second reply to the same request is refused (max 1),
// and a reply sent after expires is refused with a permissions violation.
func TestConfAllowResponsesExpire(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "wren.toml", usersConf("",
		"user = \"svc\"\npassword = \"pw\"\npermissions.publish = { deny = [\">\"] }\npermissions.allow_responses = { expires = \"1500ms\" }",
		"user = \"app\"\npassword = \"pw\""))
	p := startWren(t, "-c", file)
	svc, err := daemonConnect(t, p, nats.UserInfo("svc", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	app, err := daemonConnect(t, p, nats.UserInfo("app", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := svc.SubscribeSync("svc.time")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Flush(); err != nil {
		t.Fatal(err)
	}
	replies, err := app.SubscribeSync("replies.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := app.PublishRequest("svc.time", "replies.1", nil); err != nil {
		t.Fatal(err)
	}
	if err := app.PublishRequest("svc.time", "replies.2", nil); err != nil {
		t.Fatal(err)
	}
	first, err := reqs.NextMsg(testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	late, err := reqs.NextMsg(testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	arrived := time.Now()

	if err := first.Respond([]byte("in time")); err != nil {
		t.Fatal(err)
	}
	wantViolation(t, svc, "")
	if m, err := replies.NextMsg(testTimeout); err != nil || string(m.Data) != "in time" {
		t.Fatalf("reply in time: %v, %v; want it delivered", m, err)
	}
	first.Respond([]byte("again"))
	wantViolation(t, svc, `Permissions Violation for Publish to "replies.1"`)

	time.Sleep(time.Until(arrived.Add(2 * time.Second)))
	late.Respond([]byte("too late"))
	wantViolation(t, svc, `Permissions Violation for Publish to "replies.2"`)
	if m, err := replies.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("got %q on %s; want no reply after max and expires", m.Data, m.Subject)
	}
}
