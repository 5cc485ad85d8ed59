package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pushOwnerConf is a daemon with JetStream and three users: admin may do
// anything; alice may use the JetStream API and, while mayPush, publish to
// push.>; watch may only subscribe to push.>.
func pushOwnerConf(dir string, mayPush bool) string {
	pub := `"$JS.API.>", "$JS.ACK.>"`
	if mayPush {
		pub += `, "push.>"`
	}
	return usersConf("[jetstream]\nenabled = true\nstore_dir = \""+dir+"/store\"\n",
		"user = \"admin\"\npassword = \"pw\"",
		"user = \"alice\"\npassword = \"pw\"\npermissions.publish = ["+pub+"]\npermissions.subscribe = [\"_INBOX.>\"]",
		"user = \"watch\"\npassword = \"pw\"\npermissions.publish = []\npermissions.subscribe = [\"push.>\"]") +
		"[monitor]\nhost = \"127.0.0.1\"\nport = -1\n"
}

// monGet fetches a path from the daemon's monitoring listener.
func monGet(t testing.TB, p *wrenProc, path string) string {
	t.Helper()
	m := monitorAddr.FindStringSubmatch(p.logText())
	if m == nil {
		t.Fatalf("no monitoring address in the log:\n%s", p.logText())
	}
	var body string
	waitUntil(t, func() error {
		resp, err := http.Get("http://" + m[1] + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err
	})
	return body
}

// consumerDenied returns the consumer's delivery_denied and how many
// messages it delivered, from CONSUMER.INFO.
func consumerDenied(t testing.TB, nc *nats.Conn, stream, name string) (denied string, delivered uint64) {
	t.Helper()
	r := rawAPI(t, nc, "CONSUMER.INFO."+stream+"."+name, nil)
	if r.Error != nil {
		t.Fatalf("consumer info %s: %v", name, r.Error)
	}
	var ci struct {
		Denied    string `json:"delivery_denied"`
		Delivered struct {
			Stream uint64 `json:"stream_seq"`
		} `json:"delivered"`
	}
	if err := json.Unmarshal(r.raw, &ci); err != nil {
		t.Fatal(err)
	}
	return ci.Denied, ci.Delivered.Stream
}

func waitDenied(t testing.TB, nc *nats.Conn, stream, name string, want bool) string {
	t.Helper()
	var got string
	waitUntil(t, func() error {
		got, _ = consumerDenied(t, nc, stream, name)
		if (got != "") != want {
			return fmt.Errorf("consumer %s delivery_denied = %q; want denied %v", name, got, want)
		}
		return nil
	})
	return got
}

func nextData(t testing.TB, sub *nats.Subscription, want string) {
	t.Helper()
	m, err := sub.NextMsg(testTimeout)
	if err != nil {
		t.Fatalf("waiting for %q on %s: %v", want, sub.Subject, err)
	}
	if string(m.Data) != want {
		t.Fatalf("got %q on %s; want %q", m.Data, sub.Subject, want)
	}
}

func noMsg(t testing.TB, sub *nats.Subscription, what string) {
	t.Helper()
	if m, err := sub.NextMsg(500 * time.Millisecond); err == nil {
		t.Fatalf("%s: got %q on %s; want nothing", what, m.Data, sub.Subject)
	}
}

// TestHostilePushConsumerOwnerLosesPermission runs the daemon binary: a
// durable push consumer created by alice delivers to push.d only while
// alice may publish there. A SIGHUP that takes the permission away stops
// its deliveries (consumer info and /jsz say why, an advisory and a log
// line tell), one that gives it back resumes them with nothing lost; the
// same holds across a restart. A consumer whose file records no owner (as
// written before owners were recorded) keeps delivering.
func TestHostilePushConsumerOwnerLosesPermission(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "wren.toml", pushOwnerConf(dir, true))
	p := startWren(t, "-c", file)
	admin, err := daemonConnect(t, p, nats.UserInfo("admin", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	ajs, err := jetstream.New(admin)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, ajs, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	alice, err := daemonConnect(t, p, nats.UserInfo("alice", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d", "old"} {
		r := rawAPI(t, alice, "CONSUMER.DURABLE.CREATE.S."+name,
			`{"stream_name":"S","config":{"durable_name":"`+name+`","deliver_subject":"push.`+name+`","ack_policy":"none"}}`)
		if r.Error != nil {
			t.Fatalf("alice creates push consumer %s: %v", name, r.Error)
		}
	}
	watch, err := daemonConnect(t, p, nats.UserInfo("watch", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := watch.SubscribeSync("push.d")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, watch)
	adv, err := admin.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.DELIVERY_DENIED.S.d")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, admin)
	mustPublish(t, ajs, "s.1", "one", 1)
	nextData(t, sub, "one")

	// The permission is taken away: nothing more reaches push.d.
	writeFile(t, dir, "wren.toml", pushOwnerConf(dir, false))
	p.signal(syscall.SIGHUP)
	why := waitDenied(t, admin, "S", "d", true)
	if !strings.Contains(why, `"alice"`) || !strings.Contains(why, `"push.d"`) {
		t.Errorf("delivery_denied = %q; want it to name alice and push.d", why)
	}
	p.waitLog("push consumer stopped delivering")
	m, err := adv.NextMsg(testTimeout)
	if err != nil {
		t.Fatalf("no delivery_denied advisory: %v", err)
	}
	var a struct {
		Type, User, Reason string
		Denied             bool
	}
	json.Unmarshal(m.Data, &a)
	if a.Type != "io.wren.jetstream.advisory.v1.delivery_denied" || !a.Denied || a.User != "alice" || a.Reason == "" {
		t.Errorf("advisory %s; want a denied delivery_denied advisory for alice with a reason", m.Data)
	}
	if jsz := monGet(t, p, "/jsz"); !strings.Contains(jsz, `"delivery_denied"`) {
		t.Errorf("/jsz does not report the denied consumer:\n%s", jsz)
	}
	mustPublish(t, ajs, "s.2", "two", 2)
	noMsg(t, sub, "after the permission was taken away")
	if _, delivered := consumerDenied(t, admin, "S", "d"); delivered != 1 {
		t.Errorf("consumer d delivered up to %d; want 1 while its owner may not publish to push.d", delivered)
	}

	// Given back: delivery resumes where it stopped.
	writeFile(t, dir, "wren.toml", pushOwnerConf(dir, true))
	p.signal(syscall.SIGHUP)
	nextData(t, sub, "two")
	waitDenied(t, admin, "S", "d", false)
	if m, err := adv.NextMsg(testTimeout); err != nil || !strings.Contains(string(m.Data), `"denied":false`) {
		t.Errorf("advisory after the permission came back: %v %s; want denied false", err, m.Data)
	}

	// A restart under the denying configuration: the owner is read back
	// with the consumer and checked before its first delivery. Consumer
	// old has its owner removed from its file, as if written before
	// owners were recorded.
	p.signal(syscall.SIGTERM)
	waitUntil(t, func() error {
		if p.cmd.Process.Signal(syscall.Signal(0)) == nil {
			return fmt.Errorf("wren still running")
		}
		return nil
	})
	dropOwner(t, filepath.Join(dir, "store"), "old")
	writeFile(t, dir, "wren.toml", pushOwnerConf(dir, false))
	p = startWren(t, "-c", file)
	admin, err = daemonConnect(t, p, nats.UserInfo("admin", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	if ajs, err = jetstream.New(admin); err != nil {
		t.Fatal(err)
	}
	watch, err = daemonConnect(t, p, nats.UserInfo("watch", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err = watch.SubscribeSync("push.d")
	if err != nil {
		t.Fatal(err)
	}
	oldSub, err := watch.SubscribeSync("push.old")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, watch)
	nextData(t, oldSub, "one")
	nextData(t, oldSub, "two")
	mustPublish(t, ajs, "s.3", "three", 3)
	nextData(t, oldSub, "three")
	waitDenied(t, admin, "S", "d", true)
	noMsg(t, sub, "after a restart without the permission")
	if why, _ := consumerDenied(t, admin, "S", "old"); why != "" {
		t.Errorf("consumer old without an owner: delivery_denied %q; want none", why)
	}

	writeFile(t, dir, "wren.toml", pushOwnerConf(dir, true))
	p.signal(syscall.SIGHUP)
	nextData(t, sub, "three")
}

// dropOwner removes the owner from consumer name's consumer.json under
// store.
func dropOwner(t testing.TB, store, name string) {
	t.Helper()
	found := false
	err := filepath.WalkDir(store, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "consumer.json" || filepath.Base(filepath.Dir(path)) != name {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var meta map[string]json.RawMessage
		if err := json.Unmarshal(b, &meta); err != nil {
			return err
		}
		if _, ok := meta["owner"]; !ok {
			return fmt.Errorf("%s records no owner: %s", path, b)
		}
		delete(meta, "owner")
		out, _ := json.Marshal(meta)
		found = true
		return os.WriteFile(path, out, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no consumer.json for %s under %s", name, store)
	}
}
