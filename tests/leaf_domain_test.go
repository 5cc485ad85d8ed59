package tests

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server/leaf"
)

// With jetstream.domain set, a nats.go client on the hub creates a stream
// on the gateway by its domain, publishes to it across the link and reads
// it back (a message get and an ordered consumer), while the gateway's
// local clients see the same stream on $JS.API.
func TestLeafHubClientUsesGatewayDomain(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", t.TempDir()))
	var js *jetstore.JetStream
	gw := startGatewayWith(t, "gw17", func(g *gateway) {
		var err error
		if js, err = jetstore.Open(g.srv.InProc("$JETSTREAM"), jetstore.Config{StoreDir: t.TempDir(), Domain: "gw17"}); err != nil {
			t.Fatal(err)
		}
	}, leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	t.Cleanup(func() { js.Close() })
	gw.waitLinked(t, 1)
	waitHubInterest(t, hub, "$JS.gw17.API.>")

	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	hjs, err := jetstream.NewWithDomain(connectHub(t, hub), "gw17")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hjs.CreateStream(ctx, jetstream.StreamConfig{Name: "EDGE", Subjects: []string{"edge.>"}}); err != nil {
		t.Fatalf("create a gateway stream from the hub: %v", err)
	}
	waitHubInterest(t, hub, "edge.>")
	for i := 0; i < 5; i++ {
		ack, err := hjs.Publish(ctx, "edge.temp", []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatalf("publish from the hub: %v", err)
		}
		if ack.Stream != "EDGE" || ack.Sequence != uint64(i+1) {
			t.Fatalf("PubAck %+v; want EDGE seq %d from the gateway", ack, i+1)
		}
	}
	st, err := hjs.Stream(ctx, "EDGE")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.GetMsg(ctx, 3); err != nil || string(m.Data) != "2" {
		t.Fatalf("get message 3 from the hub: %v %v", m, err)
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Fetch(5, jetstream.FetchMaxWait(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range b.Messages() {
		if string(m.Data()) != fmt.Sprint(n) {
			t.Fatalf("consumer message %d is %q", n, m.Data())
		}
		n++
	}
	if n != 5 {
		t.Fatalf("hub consumer read %d of 5 (%v)", n, b.Error())
	}
	// The hub's own JetStream never saw it; the gateway's local clients do.
	own, _ := jetstream.New(connectHub(t, hub))
	if _, err := own.Stream(ctx, "EDGE"); err == nil {
		t.Fatal("the hub's own JetStream has a stream EDGE")
	}
	ljs, _ := jetstream.New(connectNATS(t, gw.srv))
	ls, err := ljs.Stream(ctx, "EDGE")
	if err != nil {
		t.Fatalf("local $JS.API: %v", err)
	}
	if info, _ := ls.Info(ctx); info == nil || info.State.Msgs != 5 {
		t.Fatalf("local stream info %+v; want 5 messages", info)
	}
}
