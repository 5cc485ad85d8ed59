package tests

import (
	"context"
	"log/slog"
	"net/url"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server/leaf"
)

// pullBacklog is how many 128-byte messages wait in the hub stream.
const pullBacklog = 20000

// BenchmarkPullBacklog measures how fast a backlog of 128-byte messages
// in a hub stream reaches a gateway's local stream, side by side with the
// same hub: a Wren gateway's pull (stored and fsynced before each ack),
// and nats-server as the leaf with its stream sourcing the hub stream
// across JetStream domains.
//
//	go test ./tests/ -run '^$' -bench PullBacklog -benchtime 1x
func BenchmarkPullBacklog(b *testing.B) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	b.Cleanup(func() { slog.SetDefault(prev) })
	payload := make([]byte, 128)
	hubWithBacklog := func(b *testing.B) *hubServer {
		hub := startHub(b, hubOpts(b, "hub", b.TempDir()))
		hnc := connectHub(b, hub)
		hjs, _ := jetstream.New(hnc)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if _, err := hjs.CreateStream(ctx, jetstream.StreamConfig{Name: "CMDS", Subjects: []string{"cmd.>"}}); err != nil {
			b.Fatal(err)
		}
		preloadN(b, hnc, "cmd.gw17.valve", payload, pullBacklog)
		return hub
	}
	b.Run("wren", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			hub := hubWithBacklog(b)
			var js *jetstore.JetStream
			gw := startGatewayWith(b, "gw17", func(g *gateway) {
				var err error
				if js, err = jetstore.Open(g.srv.InProc("$JETSTREAM"), jetstore.Config{StoreDir: b.TempDir()}); err != nil {
					b.Fatal(err)
				}
			}, leaf.Remote{URLs: []*url.URL{hubLeafURL(b, hub)}, DenyImports: []string{"cmd.gw17.>"}})
			b.Cleanup(func() { js.Close() })
			ljs, _ := jetstream.New(connectNATS(b, gw.srv))
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			if _, err := ljs.CreateStream(ctx, jetstream.StreamConfig{Name: "COMMANDS", Subjects: []string{"cmd.gw17.>"}}); err != nil {
				b.Fatal(err)
			}
			cancel()
			gw.waitLinked(b, 1)
			start := time.Now()
			p, err := js.Pull(jetstore.PullConfig{Stream: "COMMANDS", HubStream: "CMDS", HubDomain: "hub", Consumer: "gw17", Filter: "cmd.gw17.>"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			waitHolds(b, ljs, "COMMANDS", pullBacklog)
			b.ReportMetric(pullBacklog/time.Since(start).Seconds(), "msgs/s")
		}
	})
	b.Run("nats-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			hub := hubWithBacklog(b)
			lo := hubOpts(b, "leaf", b.TempDir())
			lo.JetStreamDomain = "leaf"
			lo.LeafNode = natsserver.LeafNodeOpts{Remotes: []*natsserver.RemoteLeafOpts{{URLs: []*url.URL{hubLeafURL(b, hub)}}}}
			leafSrv := startHub(b, lo)
			ljs, _ := jetstream.New(connectHub(b, leafSrv))
			waitUntil(b, func() error { return leafLinked(leafSrv) })
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			_, err := ljs.CreateStream(ctx, jetstream.StreamConfig{Name: "COMMANDS", Sources: []*jetstream.StreamSource{{
				Name: "CMDS", Domain: "hub", FilterSubject: "cmd.gw17.>"}}})
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			waitHolds(b, ljs, "COMMANDS", pullBacklog)
			b.ReportMetric(pullBacklog/time.Since(start).Seconds(), "msgs/s")
		}
	})
}

// leafLinked reports whether a nats-server leaf has its link to the hub.
func leafLinked(s *hubServer) error {
	if s.NumLeafNodes() == 0 {
		return errNotLinked
	}
	return nil
}

var errNotLinked = errorString("the leaf has no link to the hub yet")

type errorString string

func (e errorString) Error() string { return string(e) }

// preloadN publishes n messages to a stream, acknowledged.
func preloadN(b *testing.B, nc *nats.Conn, subject string, payload []byte, n int) {
	b.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 12*testTimeout)
	defer cancel()
	for i := 0; i < n; i++ {
		if _, err := js.PublishAsync(subject, payload); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 || i == n-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				b.Fatal("no PubAck")
			}
		}
	}
}
