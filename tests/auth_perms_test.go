package tests

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

// permServer starts a server with an unrestricted user "admin" and a user
// "u" with perms; it returns the server and an admin connection.
func permServer(t testing.TB, perms *auth.Permissions) (*server.Server, *nats.Conn) {
	t.Helper()
	s := startAuthServer(t, auth.Config{Users: []auth.User{
		{Name: "admin", Password: "pw"},
		{Name: "u", Password: "pw", Permissions: perms},
	}}, server.Options{})
	return s, connectNATS(t, s, nats.UserInfo("admin", "pw"))
}

func pubSubjects(msgs []*nats.Msg) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Subject
	}
	return out
}

func TestPermsPublish(t *testing.T) {
	type sp = auth.SubjectPermission
	tests := []struct {
		name    string
		perms   auth.Permissions
		subject string
		wantErr string
	}{
		{"allow literal", auth.Permissions{Publish: sp{Allow: []string{"foo"}}}, "foo", ""},
		{"allow literal miss", auth.Permissions{Publish: sp{Allow: []string{"foo"}}}, "bar", `Permissions Violation for Publish to "bar"`},
		{"allow pwc", auth.Permissions{Publish: sp{Allow: []string{"sensors.*.temp"}}}, "sensors.a.temp", ""},
		{"allow pwc too deep", auth.Permissions{Publish: sp{Allow: []string{"sensors.*.temp"}}}, "sensors.a.b.temp", `Permissions Violation for Publish to "sensors.a.b.temp"`},
		{"allow fwc", auth.Permissions{Publish: sp{Allow: []string{"sensors.>"}}}, "sensors.a.b", ""},
		{"allow fwc needs a token", auth.Permissions{Publish: sp{Allow: []string{"sensors.>"}}}, "sensors", `Permissions Violation for Publish to "sensors"`},
		{"deny only", auth.Permissions{Publish: sp{Deny: []string{"admin.>"}}}, "admin.reboot", `Permissions Violation for Publish to "admin.reboot"`},
		{"deny only, other subject", auth.Permissions{Publish: sp{Deny: []string{"admin.>"}}}, "sensors.a", ""},
		{"deny wins over allow", auth.Permissions{Publish: sp{Allow: []string{">"}, Deny: []string{"admin.*"}}}, "admin.x", `Permissions Violation for Publish to "admin.x"`},
		{"deny narrower than subject", auth.Permissions{Publish: sp{Allow: []string{">"}, Deny: []string{"admin.*"}}}, "admin.x.y", ""},
		{"subscribe rules only", auth.Permissions{Subscribe: sp{Allow: []string{"x"}}}, "anything", ""},
		{"replies only", auth.Permissions{Response: &auth.ResponsePermission{}}, "anything", `Permissions Violation for Publish to "anything"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, admin := permServer(t, &tt.perms)
			watch, err := admin.SubscribeSync(">")
			if err != nil {
				t.Fatal(err)
			}
			flushNATS(t, admin)
			nc := connectNATS(t, s, nats.UserInfo("u", "pw"))
			if err := nc.Publish(tt.subject, []byte("x")); err != nil {
				t.Fatal(err)
			}
			wantViolation(t, nc, tt.wantErr)
			flushNATS(t, admin)
			got := pubSubjects(drainPending(t, watch))
			var want []string
			if tt.wantErr == "" {
				want = []string{tt.subject}
			}
			if !slices.Equal(got, want) {
				t.Errorf("delivered %q; want %q", got, want)
			}
		})
	}
}

func TestPermsSubscribe(t *testing.T) {
	type sp = auth.SubjectPermission
	tests := []struct {
		name           string
		perm           sp
		subject, queue string
		wantErr        string
		// probes are published after subscribing; delivered are the ones
		// the subscription must receive.
		probes, delivered []string
	}{
		{"allow literal", sp{Allow: []string{"foo"}}, "foo", "", "", []string{"foo"}, []string{"foo"}},
		{"allow literal miss", sp{Allow: []string{"foo"}}, "bar", "", `Permissions Violation for Subscription to "bar"`, nil, nil},
		{"pwc within fwc", sp{Allow: []string{"foo.>"}}, "foo.*", "", "", []string{"foo.a", "foo.a.b"}, []string{"foo.a"}},
		{"fwc not within pwc", sp{Allow: []string{"foo.*"}}, "foo.>", "", `Permissions Violation for Subscription to "foo.>"`, nil, nil},
		{"pwc not within literal", sp{Allow: []string{"foo.bar"}}, "foo.*", "", `Permissions Violation for Subscription to "foo.*"`, nil, nil},
		{"deny literal", sp{Deny: []string{"foo.secret"}}, "foo.secret", "", `Permissions Violation for Subscription to "foo.secret"`, nil, nil},
		{"deny covers filter", sp{Deny: []string{"foo.>"}}, "foo.*", "", `Permissions Violation for Subscription to "foo.*"`, nil, nil},
		{"deny pwc vs fwc filter", sp{Deny: []string{"foo.*"}}, "foo.>", "", `Permissions Violation for Subscription to "foo.>"`, nil, nil},
		{"fwc over a denied subject", sp{Deny: []string{"foo.secret"}}, "foo.>", "",
			"", []string{"foo.public", "foo.secret", "foo.secret.x"}, []string{"foo.public", "foo.secret.x"}},
		{"pwc over a denied subject", sp{Deny: []string{"foo.secret"}}, "foo.*", "",
			"", []string{"foo.public", "foo.secret"}, []string{"foo.public"}},
		{"full wildcard with allow and deny", sp{Allow: []string{">"}, Deny: []string{"admin.>", "foo.*.key"}}, ">", "",
			"", []string{"admin.x", "foo.a.key", "foo.a.b.key", "other"}, []string{"foo.a.b.key", "other"}},
		{"queue allow", sp{Allow: []string{"jobs.> workers"}}, "jobs.a", "workers", "", []string{"jobs.a"}, []string{"jobs.a"}},
		{"queue allow, other queue", sp{Allow: []string{"jobs.> workers"}}, "jobs.a", "thieves",
			`Permissions Violation for Subscription to "jobs.a" using queue "thieves"`, nil, nil},
		{"queue allow, plain sub", sp{Allow: []string{"jobs.> workers"}}, "jobs.a", "",
			`Permissions Violation for Subscription to "jobs.a"`, nil, nil},
		{"queue deny", sp{Deny: []string{"jobs.> thieves"}}, "jobs.a", "thieves",
			`Permissions Violation for Subscription to "jobs.a" using queue "thieves"`, nil, nil},
		{"queue deny, other queue", sp{Deny: []string{"jobs.> thieves"}}, "jobs.a", "workers", "", []string{"jobs.a"}, []string{"jobs.a"}},
		{"plain deny, queue sub", sp{Deny: []string{"jobs.a"}}, "jobs.a", "workers",
			`Permissions Violation for Subscription to "jobs.a" using queue "workers"`, nil, nil},
		{"queue deny withheld from its queue", sp{Deny: []string{"jobs.vip thieves"}}, "jobs.*", "thieves",
			"", []string{"jobs.vip", "jobs.std"}, []string{"jobs.std"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, admin := permServer(t, &auth.Permissions{Subscribe: tt.perm})
			nc := connectNATS(t, s, nats.UserInfo("u", "pw"))
			var sub *nats.Subscription
			var err error
			if tt.queue == "" {
				sub, err = nc.SubscribeSync(tt.subject)
			} else {
				sub, err = nc.QueueSubscribeSync(tt.subject, tt.queue)
			}
			if err != nil {
				t.Fatal(err)
			}
			wantViolation(t, nc, tt.wantErr)
			for _, p := range tt.probes {
				if err := admin.Publish(p, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			flushNATS(t, admin, nc)
			if tt.wantErr != "" {
				return
			}
			if got := pubSubjects(drainPending(t, sub)); !slices.Equal(got, tt.delivered) {
				t.Errorf("delivered %q; want %q", got, tt.delivered)
			}
		})
	}
}

// TestPermsQueueFallback checks that a message withheld from one member
// of a queue group goes to another member allowed to receive it.
func TestPermsQueueFallback(t *testing.T) {
	s := startAuthServer(t, auth.Config{Users: []auth.User{
		{Name: "admin", Password: "pw"},
		{Name: "partial", Password: "pw", Permissions: &auth.Permissions{
			Subscribe: auth.SubjectPermission{Deny: []string{"jobs.secret"}},
		}},
	}}, server.Options{})
	admin := connectNATS(t, s, nats.UserInfo("admin", "pw"))
	partial := connectNATS(t, s, nats.UserInfo("partial", "pw"))
	full := connectNATS(t, s, nats.UserInfo("admin", "pw"))
	ps, err := partial.QueueSubscribeSync("jobs.*", "q")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := full.QueueSubscribeSync("jobs.*", "q")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, partial, full)
	const n = 50
	for range n {
		admin.Publish("jobs.secret", []byte("s"))
		admin.Publish("jobs.open", []byte("o"))
	}
	flushNATS(t, admin, partial, full)
	counts := map[string]int{}
	for _, m := range drainPending(t, ps) {
		if m.Subject == "jobs.secret" {
			t.Fatalf("partial member received jobs.secret")
		}
		counts[m.Subject]++
	}
	for _, m := range drainPending(t, fs) {
		counts[m.Subject]++
	}
	if counts["jobs.secret"] != n || counts["jobs.open"] != n {
		t.Errorf("group received %v; want %d of each subject", counts, n)
	}
}

func TestPermsAllowResponses(t *testing.T) {
	tests := []struct {
		name    string
		resp    auth.ResponsePermission
		replies int           // replies sent to one request
		wait    time.Duration // before replying
		wantOK  int           // replies that get through
	}{
		{"one reply", auth.ResponsePermission{}, 2, 0, 1},
		{"three replies", auth.ResponsePermission{MaxMsgs: 3}, 4, 0, 3},
		{"unlimited", auth.ResponsePermission{MaxMsgs: -1}, 5, 0, 5},
		{"expired", auth.ResponsePermission{Expires: 50 * time.Millisecond}, 1, 150 * time.Millisecond, 0},
		{"within expiry", auth.ResponsePermission{Expires: 10 * time.Second}, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perms := &auth.Permissions{
				Subscribe: auth.SubjectPermission{Allow: []string{"svc.>"}},
				Response:  &tt.resp,
			}
			s, admin := permServer(t, perms)
			svc := connectNATS(t, s, nats.UserInfo("u", "pw"))
			reqs, err := svc.SubscribeSync("svc.echo")
			if err != nil {
				t.Fatal(err)
			}
			flushNATS(t, svc)
			inbox := nats.NewInbox()
			replies, err := admin.SubscribeSync(inbox)
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.PublishRequest("svc.echo", inbox, []byte("ping")); err != nil {
				t.Fatal(err)
			}
			req, err := reqs.NextMsg(testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(tt.wait)
			for i := range tt.replies {
				if err := req.Respond([]byte(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
				want := ""
				if i >= tt.wantOK {
					want = fmt.Sprintf("Permissions Violation for Publish to %q", inbox)
				}
				wantViolation(t, svc, want)
			}
			// Replying never opens other subjects.
			svc.Publish("svc.other", nil)
			wantViolation(t, svc, `Permissions Violation for Publish to "svc.other"`)
			flushNATS(t, admin)
			if got := len(drainPending(t, replies)); got != tt.wantOK {
				t.Errorf("requester got %d replies; want %d", got, tt.wantOK)
			}
		})
	}
}

// TestPermsRequestWithNatsGo runs nats.go's request/reply against a
// responder that may publish nothing but replies.
func TestPermsRequestWithNatsGo(t *testing.T) {
	s, admin := permServer(t, &auth.Permissions{
		Publish:   auth.SubjectPermission{Deny: []string{">"}},
		Subscribe: auth.SubjectPermission{Allow: []string{"svc.>"}},
		Response:  &auth.ResponsePermission{},
	})
	svc := connectNATS(t, s, nats.UserInfo("u", "pw"))
	if _, err := svc.Subscribe("svc.time", func(m *nats.Msg) { m.Respond([]byte("noon")) }); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, svc)
	for i := range 20 {
		m, err := admin.Request("svc.time", nil, testTimeout)
		if err != nil || string(m.Data) != "noon" {
			t.Fatalf("request %d: %v, %v; want noon", i, m, err)
		}
	}
}

func TestPermsDefaultPermissions(t *testing.T) {
	s := startAuthServer(t, auth.Config{
		DefaultPermissions: &auth.Permissions{Publish: auth.SubjectPermission{Allow: []string{"public.>"}}},
		Users: []auth.User{
			{Name: "plain", Password: "pw"},
			{Name: "admin", Password: "pw", Permissions: &auth.Permissions{}},
		},
	}, server.Options{})
	plain := connectNATS(t, s, nats.UserInfo("plain", "pw"))
	plain.Publish("public.x", nil)
	wantViolation(t, plain, "")
	plain.Publish("private.x", nil)
	wantViolation(t, plain, `Permissions Violation for Publish to "private.x"`)
	admin := connectNATS(t, s, nats.UserInfo("admin", "pw"))
	admin.Publish("private.x", nil)
	wantViolation(t, admin, "")
}

// TestPermsConnectionKeepsWorking checks that violations leave the
// connection and its other subscriptions working.
func TestPermsConnectionKeepsWorking(t *testing.T) {
	s, admin := permServer(t, &auth.Permissions{
		Publish:   auth.SubjectPermission{Allow: []string{"ok.>"}},
		Subscribe: auth.SubjectPermission{Allow: []string{"ok.>"}},
	})
	nc := connectNATS(t, s, nats.UserInfo("u", "pw"), nats.PermissionErrOnSubscribe(true))
	good, err := nc.SubscribeSync("ok.>")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := nc.SubscribeSync("no.>")
	if err != nil {
		t.Fatal(err)
	}
	wantViolation(t, nc, `Permissions Violation for Subscription to "no.>"`)
	if _, err := bad.NextMsg(testTimeout); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("NextMsg on the refused subscription: %v; want the permissions violation", err)
	}
	for i := range 3 {
		nc.Publish("no.x", nil)
		wantViolation(t, nc, `Permissions Violation for Publish to "no.x"`)
		nc.Publish("ok.x", []byte(fmt.Sprint(i)))
		admin.Publish("ok.y", nil)
	}
	flushNATS(t, nc, admin, nc)
	if got := len(drainPending(t, good)); got != 6 {
		t.Errorf("good subscription received %d messages; want 6", got)
	}
}
