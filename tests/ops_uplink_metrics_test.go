package tests

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// /metrics with an uplink to a real nats-server hub: the link's state
// and traffic, and the forward's cursor, backlog and progress, with the
// values known traffic left, before and after the hub goes away.
func TestMetricsUplink(t *testing.T) {
	promtool := needTool(t, "promtool", "apt-get install -y prometheus")
	base := t.TempDir()
	ho := hubOpts(t, "hub", base+"/hub")
	hub := startHub(t, ho)
	hubStream(t, hub, 1, time.Minute)
	leafURL := hubLeafURL(t, hub)
	remote := leafURL.Host
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir)+fmt.Sprintf(`
[leafnodes]
reconnect = "50ms"
reconnect_max = "200ms"
ping_interval = "200ms"
[[leafnodes.remotes]]
urls = [%q]
[[leafnodes.forwards]]
stream = "SENSORS"
subject = "sensors.>"
upstream = "site.gw.sensors.>"
hub_stream = "SITES"
hub_domain = "hub"
ack_wait = "1s"
`, leafURL.String()))
	scrape, waitMetrics := promScraper(t, d, promtool)
	r := `{remote="` + remote + `"}`
	fw := `{hub_stream="SITES",stream="SENSORS"}`

	nc := localSensors(t, d.url)
	waitHubForwarder(t, hub)
	publishSensors(t, nc, 0, 30)
	m := waitMetrics(map[string]float64{
		"wren_leaf_links_connected":                  1,
		"wren_leaf_connected" + r:                    1,
		"wren_leaf_reconnects_total" + r:             0,
		"wren_leaf_failed_connects" + r:              0,
		"wren_forward_connected" + fw:                1,
		"wren_forward_cursor_sequence" + fw:          30,
		"wren_forward_waiting_messages" + fw:         0,
		"wren_forward_waiting_bytes" + fw:            0,
		"wren_forward_in_flight_messages" + fw:       0,
		"wren_forward_forwarded_messages_total" + fw: 30,
		"wren_forward_duplicates_total" + fw:         0,
		"wren_forward_dropped_total" + fw:            0,
		"wren_forward_error" + fw:                    0,
	})
	// The round trip is known once the first PING is answered.
	waitUntil(t, func() error {
		if rtt := m["wren_leaf_rtt_seconds"+r]; rtt <= 0 || rtt > 10 {
			m = scrape()
			return fmt.Errorf("wren_leaf_rtt_seconds = %v; want a round trip in seconds", rtt)
		}
		return nil
	})

	// Core traffic over the link, both ways: 20 messages of 10 bytes from
	// a gateway client to a hub subscriber, 5 of 4 bytes back.
	hnc := connectHub(t, hub)
	up := make(chan *nats.Msg, 100)
	hnc.ChanSubscribe("up.>", up)
	flushNATS(t, hnc)
	waitUntil(t, func() error {
		if _, z := d.get("/leafz?subs=1"); !strings.Contains(z, `"up.\u003e"`) {
			return fmt.Errorf("the gateway does not know the hub's interest in up.>: %s", z)
		}
		return nil
	})
	gnc, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer gnc.Close()
	down := make(chan *nats.Msg, 100)
	gnc.ChanSubscribe("down.>", down)
	flushNATS(t, gnc)
	waitHubInterest(t, hub, "down.>")
	before := scrape()
	for range 20 {
		gnc.Publish("up.x", []byte("0123456789"))
	}
	flushNATS(t, gnc)
	for range 5 {
		hnc.Publish("down.x", []byte("abcd"))
	}
	flushNATS(t, hnc)
	waitUntil(t, func() error {
		if len(up) < 20 || len(down) < 5 {
			return fmt.Errorf("%d of 20 up, %d of 5 down", len(up), len(down))
		}
		return nil
	})
	after := scrape()
	for name, delta := range map[string]float64{
		"wren_leaf_out_messages_total" + r: 20, "wren_leaf_out_bytes_total" + r: 200,
		"wren_leaf_in_messages_total" + r: 5, "wren_leaf_in_bytes_total" + r: 20,
	} {
		if got := after[name] - before[name]; got != delta {
			t.Errorf("%s grew by %v over the link traffic; want %v", name, got, delta)
		}
	}

	// The hub goes away: the link is down, one drop counted, and what is
	// published now waits.
	hub.Shutdown()
	hub.WaitForShutdown()
	waitMetrics(map[string]float64{
		"wren_leaf_links_connected":      0,
		"wren_leaf_connected" + r:        0,
		"wren_leaf_reconnects_total" + r: 1,
		"wren_leaf_rtt_seconds" + r:      0,
	})
	publishSensors(t, nc, 30, 5)
	m = waitMetrics(map[string]float64{
		"wren_forward_cursor_sequence" + fw:          30,
		"wren_forward_waiting_messages" + fw:         5,
		"wren_forward_forwarded_messages_total" + fw: 30,
	})
	if wb := m["wren_forward_waiting_bytes"+fw]; wb < 5 {
		t.Errorf("wren_forward_waiting_bytes = %v with 5 messages waiting", wb)
	}
	waitUntil(t, func() error {
		if f := m["wren_leaf_failed_connects"+r]; f < 1 {
			m = scrape()
			return fmt.Errorf("wren_leaf_failed_connects = %v with the hub down", f)
		}
		return nil
	})
	// The forward's PubAcks do not come: it is in error.
	waitMetrics(map[string]float64{
		"wren_forward_error" + fw:     1,
		"wren_forward_connected" + fw: 0,
	})

	// The hub is back on the same ports: the link is up again and the
	// backlog drains.
	ho.Port, ho.LeafNode.Port = hub.opts.Port, hub.opts.LeafNode.Port
	startHub(t, ho)
	waitMetrics(map[string]float64{
		"wren_leaf_connected" + r:                    1,
		"wren_leaf_reconnects_total" + r:             1,
		"wren_leaf_failed_connects" + r:              0,
		"wren_forward_cursor_sequence" + fw:          35,
		"wren_forward_waiting_messages" + fw:         0,
		"wren_forward_waiting_bytes" + fw:            0,
		"wren_forward_forwarded_messages_total" + fw: 35,
		"wren_forward_error" + fw:                    0,
		"wren_forward_connected" + fw:                1,
	})
}

// promScraper returns a scrape of d's /metrics, checked by promtool, and
// a wait for a scrape with the given series values.
func promScraper(t *testing.T, d *opsDaemon, promtool string) (scrape func() promSamples, wait func(map[string]float64) promSamples) {
	scrape = func() promSamples {
		t.Helper()
		status, text := d.get("/metrics")
		if status != 200 {
			t.Fatalf("/metrics status %d", status)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s\n---\n%s", err, out, text)
		}
		m, _ := parseProm(t, text)
		return m
	}
	wait = func(want map[string]float64) promSamples {
		t.Helper()
		var m promSamples
		waitUntil(t, func() error {
			m = scrape()
			for k, v := range want {
				if got, ok := m[k]; !ok || got != v {
					return fmt.Errorf("%s = %v (present %v); want %v", k, got, ok, v)
				}
			}
			return nil
		})
		return m
	}
	return scrape, wait
}

// A pull from a hub stream in /metrics: the messages it stored, and its
// error state.
func TestMetricsUplinkPull(t *testing.T) {
	promtool := needTool(t, "promtool", "apt-get install -y prometheus")
	hub := startHub(t, hubOpts(t, "hub", t.TempDir()))
	hjs, _ := jetstream.New(connectHub(t, hub))
	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	if _, err := hjs.CreateStream(ctx, jetstream.StreamConfig{Name: "CMDS", Subjects: []string{"cmd.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := hjs.Publish(ctx, "cmd.gw.valve", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	hjs.Publish(ctx, "cmd.other.valve", []byte("not ours"))
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir)+fmt.Sprintf(`
[leafnodes]
reconnect = "50ms"
reconnect_max = "200ms"
[[leafnodes.remotes]]
urls = [%q]
[[leafnodes.pulls]]
hub_stream = "CMDS"
hub_domain = "hub"
consumer = "gw"
filter = "cmd.gw.>"
stream = "COMMANDS"
`, hubLeafURL(t, hub).String()))
	_, waitMetrics := promScraper(t, d, promtool)
	nc, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ljs, _ := jetstream.New(nc)
	if _, err := ljs.CreateStream(ctx, jetstream.StreamConfig{Name: "COMMANDS", Subjects: []string{"cmd.gw.>"}}); err != nil {
		t.Fatal(err)
	}
	p := `{hub_stream="CMDS",stream="COMMANDS"}`
	waitMetrics(map[string]float64{
		"wren_pull_stored_messages_total" + p:     7,
		"wren_pull_error" + p:                     0,
		`wren_stream_messages{stream="COMMANDS"}`: 7,
	})
}
