package tests

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

// reload applies an auth configuration (and opts) to a running server.
func reload(t testing.TB, s *server.Server, cfg *auth.Config, opts server.Options) {
	t.Helper()
	opts.Host, opts.Port = "127.0.0.1", 0
	if cfg != nil {
		opts.Auth = mustAuth(t, *cfg)
	}
	if err := s.Reload(opts); err != nil {
		t.Fatalf("Reload: %v", err)
	}
}

func pubPerms(allow ...string) *auth.Permissions {
	return &auth.Permissions{Publish: auth.SubjectPermission{Allow: allow}}
}

func TestReloadAddUser(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{{Name: "alice", Password: "pw"}}}
	s := startAuthServer(t, cfg, server.Options{})
	alice := connectNATS(t, s, nats.UserInfo("alice", "pw"))
	wantConnectErr(t, s, "authorization violation", nats.UserInfo("bob", "pw2"))

	cfg.Users = append(cfg.Users, auth.User{Name: "bob", Password: bcryptOf(t, "pw2")})
	reload(t, s, &cfg, server.Options{})
	roundTrip(t, s, nats.UserInfo("bob", "pw2"))
	sub, err := alice.SubscribeSync("still.here")
	if err != nil {
		t.Fatal(err)
	}
	alice.Publish("still.here", nil)
	if _, err := sub.NextMsg(testTimeout); err != nil {
		t.Fatalf("alice after the reload: %v; want her connection working", err)
	}
}

func TestReloadRemovePublishPermission(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{{Name: "alice", Password: "pw", Permissions: pubPerms("a.>", "b.>")}}}
	s := startAuthServer(t, cfg, server.Options{})
	nc := connectNATS(t, s, nats.UserInfo("alice", "pw"))
	nc.Publish("b.x", nil)
	wantViolation(t, nc, "")

	cfg.Users[0].Permissions = pubPerms("a.>")
	reload(t, s, &cfg, server.Options{})
	nc.Publish("b.x", nil)
	wantViolation(t, nc, `Permissions Violation for Publish to "b.x"`)
	nc.Publish("a.x", nil)
	if err := nc.FlushTimeout(testTimeout); err != nil || !nc.IsConnected() {
		t.Fatalf("after the violation: %v, connected %v; want the connection open", err, nc.IsConnected())
	}
}

func TestReloadRemoveUser(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{{Name: "alice", Password: "pw"}, {Name: "bob", Password: "pw"}}}
	s := startAuthServer(t, cfg, server.Options{})
	onClose, closed := closedWith()
	bob := connectNATS(t, s, nats.UserInfo("bob", "pw"), onClose)
	alice := connectNATS(t, s, nats.UserInfo("alice", "pw"))

	cfg.Users = cfg.Users[:1]
	reload(t, s, &cfg, server.Options{})
	waitClosed(t, closed, "authorization violation")
	if bob.IsConnected() {
		t.Errorf("bob still connected after his removal")
	}
	flushNATS(t, alice)
	wantConnectErr(t, s, "authorization violation", nats.UserInfo("bob", "pw"))

	// A changed password closes the connections made with the old one.
	onClose, closed = closedWith()
	connectNATS(t, s, nats.UserInfo("alice", "pw"), onClose)
	cfg.Users[0].Password = "new"
	reload(t, s, &cfg, server.Options{})
	waitClosed(t, closed, "authorization violation")
	roundTrip(t, s, nats.UserInfo("alice", "new"))
}

func TestReloadSubscriptionRevoked(t *testing.T) {
	subPerms := func(allow []string, deny ...string) *auth.Permissions {
		return &auth.Permissions{Subscribe: auth.SubjectPermission{Allow: allow, Deny: deny}}
	}
	cfg := auth.Config{Users: []auth.User{
		{Name: "admin", Password: "pw", Permissions: &auth.Permissions{}},
		{Name: "u", Password: "pw", Permissions: subPerms([]string{">"})},
	}}
	s := startAuthServer(t, cfg, server.Options{})
	admin := connectNATS(t, s, nats.UserInfo("admin", "pw"))
	nc := connectNATS(t, s, nats.UserInfo("u", "pw"), nats.PermissionErrOnSubscribe(true))
	feed, err := nc.SubscribeSync("feed.>")
	if err != nil {
		t.Fatal(err)
	}
	all, err := nc.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	wantViolation(t, nc, "")

	// feed.> is no longer allowed at all; ">" stays, with secret.> withheld.
	cfg.Users[1].Permissions = subPerms([]string{">"}, "feed.>", "secret.>")
	reload(t, s, &cfg, server.Options{})
	for _, subj := range []string{"feed.x", "secret.x", "open.x"} {
		admin.Publish(subj, nil)
	}
	flushNATS(t, admin)
	wantViolation(t, nc, `Permissions Violation for Subscription to "feed.>"`)
	if _, err := feed.NextMsg(testTimeout); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("revoked subscription: NextMsg: %v; want the permissions violation", err)
	}
	if got, want := pubSubjects(drainPending(t, all)), []string{"open.x"}; !slices.Equal(got, want) {
		t.Errorf("'>' received %q after the reload; want %q", got, want)
	}
}

func TestReloadAuthOnAndOff(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	onClose, closed := closedWith()
	connectNATS(t, s, onClose)

	cfg := auth.Config{Users: []auth.User{{Name: "alice", Password: "pw"}}}
	reload(t, s, &cfg, server.Options{})
	waitClosed(t, closed, "authorization violation")
	wantConnectErr(t, s, "authorization violation")
	alice := connectNATS(t, s, nats.UserInfo("alice", "pw"))

	reload(t, s, nil, server.Options{})
	roundTrip(t, s)
	flushNATS(t, alice)
}

// TestReloadNkeyUserStays checks that an nkey connection is checked again
// with the nonce and signature it connected with, and keeps its
// connection when its permissions change.
func TestReloadNkeyUserStays(t *testing.T) {
	_, pub, seed := newUserKey(t)
	cfg := auth.Config{Users: []auth.User{{Nkey: pub, Permissions: pubPerms(">")}}}
	s := startAuthServer(t, cfg, server.Options{})
	nc := connectNATS(t, s, nkeyOption(t, seed))
	cfg.Users[0].Permissions = pubPerms("only.this")
	reload(t, s, &cfg, server.Options{})
	nc.Publish("other", nil)
	wantViolation(t, nc, `Permissions Violation for Publish to "other"`)
}

// TestReloadManyBcryptConnections reloads with many connections of one
// bcrypt user, all of which stay.
func TestReloadManyBcryptConnections(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{{Name: "alice", Password: bcryptOf(t, "pw")}}}
	s := startAuthServer(t, cfg, server.Options{})
	var conns []*nats.Conn
	for range 20 {
		conns = append(conns, connectNATS(t, s, nats.UserInfo("alice", "pw")))
	}
	reload(t, s, &cfg, server.Options{})
	flushNATS(t, conns...)
	if n := s.NumClients(); n != len(conns) {
		t.Errorf("%d clients after the reload; want %d", n, len(conns))
	}
}

func TestReloadLimits(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	old := connectNATS(t, s)
	for i := range 3 {
		if _, err := old.SubscribeSync(fmt.Sprint("s", i)); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, old)

	reload(t, s, nil, server.Options{MaxSubscriptions: 3, MaxPayload: 1024})
	old.SubscribeSync("one.too.many")
	if err := lastErrAfterFlush(t, old); err == nil || err != nats.ErrMaxSubscriptionsExceeded {
		t.Errorf("fourth subscription: %v; want maximum subscriptions exceeded", err)
	}
	if got := old.MaxPayload(); got != server.DefaultMaxPayload {
		t.Errorf("open connection's max payload = %d; want %d (unchanged)", got, server.DefaultMaxPayload)
	}
	if got := connectNATS(t, s).MaxPayload(); got != 1024 {
		t.Errorf("new connection's max payload = %d; want 1024", got)
	}
}

// TestReloadUnderLoad reloads repeatedly while clients publish and
// subscribe; no allowed connection may be dropped or miss a message it
// is allowed to receive.
func TestReloadUnderLoad(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{
		{Name: "pub", Password: "pw", Permissions: pubPerms("load.>")},
		{Name: "sub", Password: "pw", Permissions: &auth.Permissions{Subscribe: auth.SubjectPermission{Allow: []string{"load.>"}, Deny: []string{"load.never"}}}},
	}}
	s := startAuthServer(t, cfg, server.Options{})
	sub := connectNATS(t, s, nats.UserInfo("sub", "pw"))
	var got atomic.Int64
	if _, err := sub.Subscribe("load.>", func(m *nats.Msg) {
		if m.Subject == "load.never" {
			t.Errorf("received load.never")
		}
		got.Add(1)
	}); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, sub)
	const pubs, each = 4, 500
	var wg sync.WaitGroup
	for p := range pubs {
		nc := connectNATS(t, s, nats.UserInfo("pub", "pw"))
		wg.Go(func() {
			for i := range each {
				nc.Publish(fmt.Sprintf("load.%d.%d", p, i%7), nil)
				nc.Publish("load.never", nil)
			}
			if err := nc.FlushTimeout(testTimeout); err != nil {
				t.Errorf("publisher %d: %v", p, err)
			}
		})
	}
	for range 20 {
		reload(t, s, &cfg, server.Options{})
	}
	wg.Wait()
	waitUntil(t, func() error {
		if n := got.Load(); n != pubs*each {
			return fmt.Errorf("received %d messages; want %d", n, pubs*each)
		}
		return nil
	})
	if n := s.NumClients(); n != pubs+1 {
		t.Errorf("%d clients; want %d", n, pubs+1)
	}
}
