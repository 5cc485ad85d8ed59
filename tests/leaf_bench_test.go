package tests

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
)

// benchBacklog is how many 128-byte messages wait at the edge.
const benchBacklog = 100000

// benchWindow is the forward's window: the default.
var benchWindow = 256

// BenchmarkForwardBacklog measures how fast a backlog of 128-byte
// messages stored at the edge reaches a hub stream once the link is up,
// with the same hub, side by side: a Wren gateway's forward, and
// nats-server as the leaf with the hub stream sourcing its stream across
// JetStream domains (the reference's store-and-forward).
//
//	go test ./tests/ -run '^$' -bench ForwardBacklog -benchtime 1x
func BenchmarkForwardBacklog(b *testing.B) {
	// The links log to the default logger; keep the result lines whole.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	b.Cleanup(func() { slog.SetDefault(prev) })
	payload := make([]byte, 128)
	b.Run("wren", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ho := proxiedHubOpts(b, "hub", b.TempDir())
			hub := startHub(b, ho)
			hjs := hubStream(b, hub, 1, 2*time.Minute)
			proxy := startProxy(b, fmt.Sprintf("127.0.0.1:%d", ho.LeafNode.Port))
			proxy.mode.Store(proxyRefuse)
			// The defaults but for the window: fastForward's short ack
			// wait is for the chaos tests, where links die.
			fc := jetstore.ForwardConfig{HubStream: "SITES", HubDomain: "hub", Window: benchWindow}
			gw := startFwdGateway(b, "gw17", b.TempDir(), fc,
				fastRemote(&url.URL{Scheme: "nats-leaf", Host: proxy.addr()}))
			nc := connectNATS(b, gw.srv)
			preload(b, nc, "sensors.a", payload)
			start := time.Now()
			proxy.mode.Store(proxyPass)
			waitHolds(b, hjs, "SITES", benchBacklog)
			el := time.Since(start)
			b.ReportMetric(benchBacklog/el.Seconds(), "msgs/s")
			s := gw.fwd.Status()
			b.Logf("window %d: resends %d, hub read-backs %d, found held %d, duplicates %d, last error %q", fc.Window, s.Resends, s.HubSyncs, s.HeldFound, s.Duplicates, s.LastError)
		}
	})
	b.Run("nats-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ho := hubOpts(b, "hub", b.TempDir())
			hub := startHub(b, ho)
			lo := hubOpts(b, "leaf", b.TempDir())
			lo.JetStreamDomain = "leaf"
			lo.LeafNode = natsserver.LeafNodeOpts{Remotes: []*natsserver.RemoteLeafOpts{{URLs: []*url.URL{hubLeafURL(b, hub)}}}}
			leafSrv := startHub(b, lo)
			lnc := connectHub(b, leafSrv)
			ljs, _ := jetstream.New(lnc)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			if _, err := ljs.CreateStream(ctx, jetstream.StreamConfig{Name: "SENSORS", Subjects: []string{"sensors.>"}}); err != nil {
				b.Fatal(err)
			}
			cancel()
			preload(b, lnc, "sensors.a", payload)
			hjs, _ := jetstream.New(connectHub(b, hub))
			start := time.Now()
			ctx, cancel = context.WithTimeout(context.Background(), testTimeout)
			_, err := hjs.CreateStream(ctx, jetstream.StreamConfig{Name: "SITES", Sources: []*jetstream.StreamSource{{
				Name: "SENSORS", Domain: "leaf",
				SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "sensors.>", Destination: "site.leaf.sensors.>"}},
			}}})
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			waitHolds(b, hjs, "SITES", benchBacklog)
			el := time.Since(start)
			b.ReportMetric(benchBacklog/el.Seconds(), "msgs/s")
		}
	})
}

// preload publishes the backlog to a local stream, acknowledged.
func preload(b *testing.B, nc *nats.Conn, subject string, payload []byte) {
	b.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 12*testTimeout)
	defer cancel()
	futs := make([]jetstream.PubAckFuture, 0, 1000)
	for i := 0; i < benchBacklog; i++ {
		f, err := js.PublishAsync(subject, payload)
		if err != nil {
			b.Fatal(err)
		}
		futs = append(futs, f)
		if len(futs) == cap(futs) || i == benchBacklog-1 {
			for _, f := range futs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Fatal(err)
				case <-ctx.Done():
					b.Fatal("no PubAck")
				}
			}
			futs = futs[:0]
		}
	}
}

// waitHolds waits until a hub stream holds n messages.
func waitHolds(b *testing.B, js jetstream.JetStream, stream string, n uint64) {
	b.Helper()
	deadline := time.Now().Add(12 * testTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		st, err := js.Stream(ctx, stream)
		if err == nil {
			if info, err := st.Info(ctx); err == nil && info.State.Msgs >= n {
				cancel()
				return
			}
		}
		cancel()
		if time.Now().After(deadline) {
			b.Fatalf("%s does not reach %d messages", stream, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkForwardOutageBuffer measures what a 1,000,000-message outage
// costs the gateway: the daemon's resident memory (VmRSS and its peak,
// VmHWM) and the store's disk use once 1,000,000 128-byte messages wait
// for a hub that is down.
//
//	go test ./tests/ -run '^$' -bench ForwardOutageBuffer -benchtime 1x
func BenchmarkForwardOutageBuffer(b *testing.B) {
	b.Run("forward", func(b *testing.B) { outageBuffer(b, true) })
	// The same messages in a stream nothing forwards, for comparison.
	b.Run("stream-only", func(b *testing.B) { outageBuffer(b, false) })
}

func outageBuffer(b *testing.B, forward bool) {
	for i := 0; i < b.N; i++ {
		base := b.TempDir()
		cfg := uplinkConfig(b, base, "gw17", "nats-leaf://"+freeAddr(b), freePort(b))
		if !forward {
			text, _ := os.ReadFile(cfg)
			plain := string(text[:strings.Index(string(text), "[leafnodes]")])
			os.WriteFile(cfg, []byte(plain), 0o644)
		}
		gw := startUplinkDaemon(b, cfg)
		nc := localSensors(b, gw.url)
		payload := make([]byte, 128)
		js, _ := jetstream.New(nc)
		const n = 1000000
		futs := make([]jetstream.PubAckFuture, 0, 2000)
		for k := 0; k < n; k++ {
			f, err := js.PublishAsync("sensors.line1.temp", payload)
			if err != nil {
				b.Fatal(err)
			}
			futs = append(futs, f)
			if len(futs) == cap(futs) || k == n-1 {
				for _, f := range futs {
					select {
					case <-f.Ok():
					case err := <-f.Err():
						b.Fatal(err)
					case <-time.After(testTimeout):
						b.Fatal("no PubAck")
					}
				}
				futs = futs[:0]
			}
		}
		time.Sleep(2 * time.Second) // let the forward report what waits
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", gw.cmd.Process.Pid))
		var rss, hwm int
		for _, line := range strings.Split(string(status), "\n") {
			fmt.Sscanf(line, "VmRSS: %d kB", &rss)
			fmt.Sscanf(line, "VmHWM: %d kB", &hwm)
		}
		var disk int64
		filepath.Walk(filepath.Join(base, "store"), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				disk += fi.Size()
			}
			return nil
		})
		b.ReportMetric(float64(rss)/1024, "rss_MB")
		b.ReportMetric(float64(hwm)/1024, "peak_rss_MB")
		b.ReportMetric(float64(disk)/(1<<20), "disk_MB")
	}
}
