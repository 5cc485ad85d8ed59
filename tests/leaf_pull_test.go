package tests

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server/leaf"
)

// A hub stream is pulled down into a local stream: exactly the messages
// under the filter, in order, acked upstream once stored locally, nothing
// echoed back to the hub; a consumer that delivers everything again
// (made anew on the hub) adds nothing locally.
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
	waitUntil(t, func() error {
		c, err := hjs.Consumer(ctx, "CMDS", "gw17")
		if err != nil {
			return err
		}
		info, _ := c.Info(ctx)
		if info.AckFloor.Stream < 400 || info.NumAckPending != 0 {
			return fmt.Errorf("hub consumer ack floor %d, pending %d", info.AckFloor.Stream, info.NumAckPending)
		}
		return nil
	})
	if st, _ := hjs.Stream(ctx, "CMDS"); st != nil {
		if info, _ := st.Info(ctx); info.State.Msgs != 400 {
			t.Fatalf("hub stream holds %d, want 400: something went back up", info.State.Msgs)
		}
	}
	// The hub delivers everything again: nothing is stored twice.
	p.Close()
	if err := hjs.DeleteConsumer(ctx, "CMDS", "gw17"); err != nil {
		t.Fatal(err)
	}
	hjs.Publish(ctx, "cmd.gw17.valve", []byte("300"))
	p = pull()
	checkLocal(301)
	waitUntil(t, func() error {
		if s := p.Status(); s.Redelivered != 300 || s.Stored != 1 {
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
