package tests

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server/leaf"
)

// fwdGateway is a gateway with streams and one forward.
type fwdGateway struct {
	*gateway
	js  *jetstore.JetStream
	fwd *jetstore.Forwarder
}

// startFwdGateway starts a gateway with streams in dir, a SENSORS stream
// on sensors.>, and a forward of it to the hub stream SITES under
// site.<name>.sensors.>.
func startFwdGateway(t testing.TB, name, dir string, fc jetstore.ForwardConfig, remotes ...leaf.Remote) *fwdGateway {
	t.Helper()
	g := &fwdGateway{}
	var js *jetstore.JetStream
	g.gateway = startGatewayWith(t, name, func(gw *gateway) {
		var err error
		js, err = jetstore.Open(gw.srv.InProc("$JETSTREAM"), jetstore.Config{StoreDir: dir})
		if err != nil {
			t.Fatal(err)
		}
	}, remotes...)
	g.js = js
	t.Cleanup(func() { js.Close() })
	nc := connectNATS(t, g.srv)
	jsc, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := jsc.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "SENSORS", Subjects: []string{"sensors.>"}}); err != nil {
		t.Fatal(err)
	}
	fc.Gateway, fc.Stream, fc.Subject = name, "SENSORS", "sensors.>"
	if fc.Upstream == "" {
		fc.Upstream = "site." + name + ".sensors.>"
	}
	f, err := js.Forward(fc)
	if err != nil {
		t.Fatal(err)
	}
	g.fwd = f
	g.mu.Lock()
	g.onLink = append(g.onLink, f.Kick)
	g.mu.Unlock()
	t.Cleanup(f.Close)
	return g
}

// hubStream creates the hub stream SITES on site.> with a duplicate
// window of dup.
func hubStream(t testing.TB, hub *hubServer, replicas int, dup time.Duration) jetstream.JetStream {
	t.Helper()
	nc := connectHub(t, hub)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SITES", Subjects: []string{"site.>"},
		Replicas: replicas, Duplicates: dup}); err != nil {
		t.Fatal(err)
	}
	return js
}

// publishSensors publishes n telemetry messages to the gateway's stream,
// numbered from first, each acknowledged.
func publishSensors(t testing.TB, nc *nats.Conn, first, n int) {
	t.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	futs := make([]jetstream.PubAckFuture, 0, 256)
	for i := first; i < first+n; i++ {
		f, err := js.PublishAsync(fmt.Sprintf("sensors.line%d.temp", i%4), []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
		if len(futs) == cap(futs) || i == first+n-1 {
			for _, f := range futs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					t.Fatalf("publish: %v", err)
				case <-ctx.Done():
					t.Fatal("publish: no PubAck")
				}
			}
			futs = futs[:0]
		}
	}
}

// checkHubHolds waits until the hub stream holds n messages from gateway
// name, then checks they are exactly 0..n-1 in order, without duplicates.
func checkHubHolds(t testing.TB, js jetstream.JetStream, name string, n int) {
	t.Helper()
	checkHubHoldsDiag(t, js, name, n, 0, nil)
}

// checkHubHoldsDiag is checkHubHolds with diag's report in a failure,
// where a message may stand up to slack places from its own: publishes
// lost in flight while later ones of the same window were stored (a hub
// leader going away, a link cut) are sent again after those.
func checkHubHoldsDiag(t testing.TB, js jetstream.JetStream, name string, n, slack int, diag func() string) {
	t.Helper()
	report := func() string {
		if diag == nil {
			return ""
		}
		return "; " + diag()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*testTimeout)
	defer cancel()
	deadline := time.Now().Add(6 * testTimeout)
	var got uint64
	var lastErr error
	for {
		// Each question gets its own short deadline: one lost while a
		// hub cluster elects a leader must not use up the whole wait.
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := js.Stream(qctx, "SITES")
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = st.Info(qctx, jetstream.WithSubjectFilter("site."+name+".>")); err == nil {
				got = 0
				for _, c := range info.State.Subjects {
					got += c
				}
			}
		}
		qcancel()
		lastErr = err
		if err == nil && got >= uint64(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub holds %d messages of %s, want %d (last error %v)%s", got, name, n, lastErr, report())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != uint64(n) {
		t.Fatalf("hub holds %d messages of %s, want exactly %d%s", got, name, n, report())
	}
	// Read them back in order; a consumer lost to a hub node going away
	// is made again after the last message read.
	i := 0
	seen := make([]bool, n)
	var next uint64 = 1
	for i < n {
		if time.Now().After(deadline.Add(testTimeout)) {
			t.Fatalf("could not read the hub's messages past %d", i)
		}
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := js.Stream(qctx, "SITES")
		var c jetstream.Consumer
		if err == nil {
			c, err = st.OrderedConsumer(qctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"site." + name + ".>"},
				DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: next})
		}
		qcancel()
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		for i < n {
			batch, err := c.Fetch(min(1000, n-i), jetstream.FetchMaxWait(testTimeout))
			if err != nil {
				break
			}
			got := 0
			for m := range batch.Messages() {
				got++
				v, err := strconv.Atoi(string(m.Data()))
				if err != nil || v < 0 || v >= n || seen[v] || v < i-slack || v > i+slack {
					t.Fatalf("hub message %d is %q (subject %s, id %s): out of order or duplicated", i, m.Data(), m.Subject(), m.Headers().Get("Nats-Msg-Id"))
				}
				seen[v] = true
				if want := fmt.Sprintf("site.%s.sensors.line%d.temp", name, v%4); m.Subject() != want {
					t.Fatalf("hub message %d on %s, want %s", i, m.Subject(), want)
				}
				if md, err := m.Metadata(); err == nil {
					next = md.Sequence.Stream + 1
				}
				i++
			}
			if batch.Error() != nil || got == 0 {
				break
			}
		}
	}
}

// A forwarded stream reaches the hub stream in order, under the rewritten
// subject, with its Nats-Msg-Id; /uplinkz-level status shows it caught up.
func TestForwardToHubStream(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", t.TempDir()))
	hjs := hubStream(t, hub, 1, 2*time.Minute)
	gw := startFwdGateway(t, "gw17", t.TempDir(), jetstore.ForwardConfig{HubStream: "SITES", HubDomain: "hub"},
		leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	nc := connectNATS(t, gw.srv)
	publishSensors(t, nc, 0, 2000)
	checkHubHolds(t, hjs, "gw17", 2000)
	waitUntil(t, func() error {
		s := gw.fwd.Status()
		if s.Cursor != 2000 || s.Waiting != 0 || s.Forwarded != 2000 {
			return fmt.Errorf("forward status %+v", s)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	st, _ := hjs.Stream(ctx, "SITES")
	m, err := st.GetLastMsgForSubject(ctx, "site.gw17.>")
	if err != nil {
		t.Fatal(err)
	}
	if id := m.Header.Get("Nats-Msg-Id"); !strings.HasPrefix(id, "gw17:SENSORS:") || !strings.HasSuffix(id, ":2000") {
		t.Fatalf("last hub message id %q", id)
	}
}
