package tests

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server/leaf"
)

// A hub stream is pulled down into a local stream: exactly the messages
// under the filter, in order, stored in groups, acked upstream once stored
// locally, nothing
// echoed back to the hub; a new pull resumes right after what the local
// stream holds.
func TestPullFromHubStream(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", t.TempDir()))
	hnc := connectHub(t, hub)
	hjs, _ := jetstream.New(hnc)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	if _, err := hjs.CreateStream(ctx, jetstream.StreamConfig{Name: "CMDS", Subjects: []string{"cmd.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if _, err := hjs.Publish(ctx, "cmd.gw17.valve", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			hjs.Publish(ctx, "cmd.other.valve", []byte("not ours"))
		}
	}
	var js *jetstore.JetStream
	gw := startGatewayWith(t, "gw17", func(g *gateway) {
		var err error
		if js, err = jetstore.Open(g.srv.InProc("$JETSTREAM"), jetstore.Config{StoreDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		// The pull is how these reach the gateway: the hub's live
		// messages on them are kept out (as the daemon does for a pull).
	}, leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}, DenyImports: []string{"cmd.gw17.>"}})
	t.Cleanup(func() { js.Close() })
	lnc := connectNATS(t, gw.srv)
	ljs, _ := jetstream.New(lnc)
	if _, err := ljs.CreateStream(ctx, jetstream.StreamConfig{Name: "COMMANDS", Subjects: []string{"cmd.gw17.>"}}); err != nil {
		t.Fatal(err)
	}
	pull := func() *jetstore.Puller {
		p, err := js.Pull(jetstore.PullConfig{Stream: "COMMANDS", HubStream: "CMDS", HubDomain: "hub", Consumer: "gw17", Filter: "cmd.gw17.>", Batch: 50})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	fsyncs := jetstore.FsyncLatency().Count
	p := pull()
	checkLocal := func(n int) {
		t.Helper()
		waitUntil(t, func() error {
			st, err := ljs.Stream(ctx, "COMMANDS")
			if err != nil {
				return err
			}
			info, _ := st.Info(ctx)
			if info.State.Msgs != uint64(n) {
				return fmt.Errorf("local stream holds %d, want %d (%+v)", info.State.Msgs, n, p.Status())
			}
			return nil
		})
		st, _ := ljs.Stream(ctx, "COMMANDS")
		for i := 0; i < n; i++ {
			m, err := st.GetMsg(ctx, uint64(i+1))
			if err != nil || string(m.Data) != strconv.Itoa(i) {
				t.Fatalf("local message %d: %v %q", i+1, err, dataOfRaw(m))
			}
		}
	}
	checkLocal(300)
	// What arrives together is stored together: one append and one fsync
	// per group, not per message.
	if n := jetstore.FsyncLatency().Count - fsyncs; n > 100 {
		t.Errorf("storing 300 pulled messages took %d fsyncs; want them grouped (at most 100)", n)
	}
	waitHubAcked(t, hjs, "CMDS", "gw17-", 400)
	if st, _ := hjs.Stream(ctx, "CMDS"); st != nil {
		if info, _ := st.Info(ctx); info.State.Msgs != 400 {
			t.Fatalf("hub stream holds %d, want 400: something went back up", info.State.Msgs)
		}
	}
	// A new pull goes on after what the local stream holds.
	p.Close()
	hjs.Publish(ctx, "cmd.gw17.valve", []byte("300"))
	p = pull()
	checkLocal(301)
	waitUntil(t, func() error {
		if s := p.Status(); s.Stored != 1 {
			return fmt.Errorf("pull status %+v", s)
		}
		return nil
	})
}

func dataOfRaw(m *jetstream.RawStreamMsg) []byte {
	if m == nil {
		return nil
	}
	return m.Data
}

// A pull is cut by SIGKILL mid-way and the gateway restarted after its
// local duplicate window has passed: the local stream holds each of the
// hub's 1,500 messages exactly once, in order, and the hub consumer has
// them all acked.
func TestPullKilledMidway(t *testing.T) {
	base := t.TempDir()
	hub := startHub(t, hubOpts(t, "hub", filepath.Join(base, "hub")))
	hjs, _ := jetstream.New(connectHub(t, hub))
	ctx, cancel := context.WithTimeout(context.Background(), 6*testTimeout)
	defer cancel()
	if _, err := hjs.CreateStream(ctx, jetstream.StreamConfig{Name: "CMDS", Subjects: []string{"cmd.>"}}); err != nil {
		t.Fatal(err)
	}
	const n = 1500
	for i := 0; i < n; i++ {
		if _, err := hjs.PublishAsync("cmd.gw17.valve", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-hjs.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("hub publishes not acknowledged")
	}
	cfg := fmt.Sprintf(`host = "127.0.0.1"
port = 0
server_name = "gw17"
[jetstream]
enabled = true
store_dir = %q
[leafnodes]
reconnect = "50ms"
reconnect_max = "500ms"
[[leafnodes.remotes]]
urls = [%q]
[[leafnodes.pulls]]
hub_stream = "CMDS"
hub_domain = "hub"
filter = "cmd.gw17.>"
stream = "COMMANDS"
batch = 50
`, filepath.Join(base, "store"), hubLeafURL(t, hub).String())
	path := filepath.Join(base, "wren.toml")
	os.WriteFile(path, []byte(cfg), 0o644)
	gw := startUplinkDaemon(t, path)
	nc, err := nats.Connect(gw.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	ljs, _ := jetstream.New(nc)
	if _, err := ljs.CreateStream(ctx, jetstream.StreamConfig{Name: "COMMANDS", Subjects: []string{"cmd.gw17.>"}, Duplicates: time.Second}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() error {
		st, err := ljs.Stream(ctx, "COMMANDS")
		if err != nil {
			return err
		}
		if info, _ := st.Info(ctx); info == nil || info.State.Msgs < 500 {
			return fmt.Errorf("local stream not yet at 500")
		}
		return nil
	})
	nc.Close()
	gw.kill()
	time.Sleep(1200 * time.Millisecond) // past the local duplicate window
	gw = startUplinkDaemon(t, path)
	nc, err = nats.Connect(gw.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ljs, _ = jetstream.New(nc)
	var st jetstream.Stream
	waitUntil(t, func() error {
		var err error
		if st, err = ljs.Stream(ctx, "COMMANDS"); err != nil {
			return err
		}
		info, _ := st.Info(ctx)
		if info == nil || info.State.Msgs < n {
			return fmt.Errorf("local stream holds %v", info)
		}
		return nil
	})
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; {
		b, err := c.Fetch(min(1000, n-i), jetstream.FetchMaxWait(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			if string(m.Data()) != strconv.Itoa(i) {
				t.Fatalf("local message %d is %q: lost or stored twice", i, m.Data())
			}
			i++
		}
	}
	if info, _ := st.Info(ctx); info.State.Msgs != n {
		t.Fatalf("local stream holds %d, want exactly %d", info.State.Msgs, n)
	}
	waitHubAcked(t, hjs, "CMDS", "gw17-", n)
}

// waitHubAcked waits until a hub consumer whose name starts with prefix
// has acked everything up to stream sequence floor.
func waitHubAcked(t testing.TB, js jetstream.JetStream, stream, prefix string, floor uint64) {
	t.Helper()
	waitUntil(t, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		var seen []string
		for info := range st.ListConsumers(ctx).Info() {
			if strings.HasPrefix(info.Name, prefix) && info.AckFloor.Stream >= floor && info.NumAckPending == 0 {
				return nil
			}
			seen = append(seen, fmt.Sprintf("%s floor %d pending %d", info.Name, info.AckFloor.Stream, info.NumAckPending))
		}
		return fmt.Errorf("no hub consumer %s* acked up to %d: %q", prefix, floor, seen)
	})
}
