package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The config file takes queue permissions as nats-server does: a subscribe
// entry "subject queue" allows (or denies) that subject only in a matching
// queue group. The daemon started from such a file applies them to a
// nats.go client.
func TestConfQueuePermissions(t *testing.T) {
	cfg := `host = "127.0.0.1"
port = 0
[[authorization.users]]
user = "worker"
password = "pw"
permissions.publish = ["jobs.>", "status.>"]
permissions.subscribe = { allow = ["jobs.* workers", "jobs.*.x  work.*", "status.>"], deny = ["jobs.secret workers"] }
`
	p := startWren(t, "-c", writeFile(t, t.TempDir(), "wren.toml", cfg))
	violations := make(chan string, 16)
	nc, err := nats.Connect(p.url, nats.UserInfo("worker", "pw"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		violations <- err.Error()
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	allowed := []func() (*nats.Subscription, error){
		func() (*nats.Subscription, error) { return nc.QueueSubscribeSync("jobs.a", "workers") },
		func() (*nats.Subscription, error) { return nc.QueueSubscribeSync("jobs.b.x", "work.eu") },
		func() (*nats.Subscription, error) { return nc.SubscribeSync("status.up") },
	}
	var subs []*nats.Subscription
	for _, f := range allowed {
		s, err := f()
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	refused := map[string]func() error{
		`"jobs.a"`:      func() error { _, err := nc.SubscribeSync("jobs.a"); return err },                // only in a queue group
		`"jobs.c"`:      func() error { _, err := nc.QueueSubscribeSync("jobs.c", "others"); return err }, // not that group
		`"jobs.secret"`: func() error { _, err := nc.QueueSubscribeSync("jobs.secret", "workers"); return err },
	}
	for _, f := range refused {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	deadline := time.After(testTimeout)
	for len(got) < len(refused) {
		select {
		case v := <-violations:
			if !strings.Contains(strings.ToLower(v), "permissions violation for subscription to ") {
				t.Fatalf("unexpected error %q", v)
			}
			for subj := range refused {
				if strings.Contains(v, subj) {
					got[subj] = true
				}
			}
		case <-deadline:
			t.Fatalf("violations reported for %v; want all of %d refused subscriptions", got, len(refused))
		}
	}
	for i, subj := range []string{"jobs.a", "jobs.b.x", "status.up"} {
		if err := nc.Publish(subj, []byte("m")); err != nil {
			t.Fatal(err)
		}
		if m, err := subs[i].NextMsg(testTimeout); err != nil || m.Subject != subj {
			t.Fatalf("allowed subscription to %s: %v %v", subj, m, err)
		}
	}
}
