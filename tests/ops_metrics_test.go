package tests

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// /metrics after real nats.go traffic: promtool accepts it, and the
// series say what /varz and /jsz say, with the values the traffic left.
func TestMetricsAfterTraffic(t *testing.T) {
	promtool := needTool(t, "promtool", "apt-get install -y prometheus")
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir))
	tnc := knownStreamTraffic(t, d.url)
	// A third consumer naks its first message once: one redelivery.
	tjs, _ := jetstream.New(tnc)
	jobs, _ := tjs.Stream(jsCtx(t), "JOBS")
	retry := mustConsumer(t, jobs, jetstream.ConsumerConfig{Durable: "retry", AckPolicy: jetstream.AckExplicitPolicy})
	if err := fetchOne(t, retry, testTimeout).Nak(); err != nil {
		t.Fatal(err)
	}
	if m := fetchOne(t, retry, testTimeout); string(m.Data()) != "j-1" {
		t.Fatalf("redelivered %q; want j-1", m.Data())
	} else if err := m.DoubleAck(jsCtx(t)); err != nil {
		t.Fatal(err)
	}

	_, before := d.get("/metrics")
	b, _ := parseProm(t, before)
	// Core traffic: 50 messages of 10 bytes to one subscriber.
	sub, _ := nats.Connect(d.url)
	defer sub.Close()
	pub, _ := nats.Connect(d.url)
	defer pub.Close()
	got := make(chan *nats.Msg, 100)
	sub.ChanSubscribe("core.>", got)
	flushNATS(t, sub)
	for range 50 {
		pub.Publish("core.x", []byte("0123456789"))
	}
	flushNATS(t, pub)
	waitUntil(t, func() error {
		if len(got) < 50 {
			return fmt.Errorf("%d of 50 delivered", len(got))
		}
		return nil
	})

	status, text := d.get("/metrics")
	if status != 200 {
		t.Fatalf("/metrics status %d", status)
	}
	_, varzBody := d.get("/varz")
	_, jszBody := d.get("/jsz")

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n---\n%s", err, out, text)
	}

	m, types := parseProm(t, text)
	for name, typ := range map[string]string{
		"wren_connections": "gauge", "wren_in_messages_total": "counter", "wren_fsync_duration_seconds": "histogram",
		"wren_consumer_pending_messages": "gauge", "wren_consumer_dead_letters_total": "counter",
		"go_gc_duration_seconds": "summary", "go_memstats_heap_alloc_bytes": "gauge",
	} {
		if types[name] != typ {
			t.Errorf("family %s has type %q; want %q", name, types[name], typ)
		}
	}
	m.want(t, map[string]float64{
		`wren_stream_messages{stream="JOBS"}`:                                    10,
		`wren_stream_messages{stream="DLQ"}`:                                     1,
		`wren_stream_first_sequence{stream="JOBS"}`:                              1,
		`wren_stream_last_sequence{stream="JOBS"}`:                               10,
		`wren_stream_consumers{stream="JOBS"}`:                                   3,
		`wren_stream_store_error{stream="JOBS"}`:                                 0,
		`wren_stream_refused_publishes_total{stream="JOBS"}`:                     0,
		`wren_consumer_pending_messages{consumer="w",stream="JOBS"}`:             6,
		`wren_consumer_ack_pending_messages{consumer="w",stream="JOBS"}`:         1,
		`wren_consumer_delivered_messages_total{consumer="w",stream="JOBS"}`:     4,
		`wren_consumer_dead_letters_total{consumer="w",stream="JOBS"}`:           1,
		`wren_consumer_pending_messages{consumer="idle",stream="JOBS"}`:          10,
		`wren_consumer_dead_letters_total{consumer="idle",stream="JOBS"}`:        0,
		`wren_jetstream_streams`:                                                 2,
		`wren_jetstream_consumers`:                                               3,
		`wren_consumer_redeliveries_total{consumer="retry",stream="JOBS"}`:       1,
		`wren_consumer_redeliveries_total{consumer="w",stream="JOBS"}`:           0,
		`wren_consumer_pending_messages{consumer="retry",stream="JOBS"}`:         9,
		`wren_consumer_delivered_messages_total{consumer="retry",stream="JOBS"}`: 2,
		`wren_lame_duck_mode`:                                                    0,
		`wren_auth_failures_total`:                                               0,
	})
	// Deltas of the core traffic.
	for name, delta := range map[string]float64{
		"wren_in_messages_total": 50, "wren_in_bytes_total": 500,
		"wren_out_messages_total": 50, "wren_out_bytes_total": 500,
	} {
		if got := m[name] - b[name]; got != delta {
			t.Errorf("%s grew by %v over the core traffic; want %v", name, got, delta)
		}
	}
	// The same counters as /varz (no traffic between the two scrapes).
	var varz struct {
		InMsgs           int64 `json:"in_msgs"`
		OutMsgs          int64 `json:"out_msgs"`
		InBytes          int64 `json:"in_bytes"`
		OutBytes         int64 `json:"out_bytes"`
		TotalConnections int64 `json:"total_connections"`
		Connections      int   `json:"connections"`
	}
	if err := json.Unmarshal([]byte(varzBody), &varz); err != nil {
		t.Fatal(err)
	}
	m.want(t, map[string]float64{
		"wren_in_messages_total": float64(varz.InMsgs), "wren_out_messages_total": float64(varz.OutMsgs),
		"wren_in_bytes_total": float64(varz.InBytes), "wren_out_bytes_total": float64(varz.OutBytes),
		"wren_connections_total": float64(varz.TotalConnections), "wren_connections": float64(varz.Connections),
	})
	if varz.Connections != 3 {
		t.Errorf("/varz connections %d; want 3", varz.Connections)
	}
	// /jsz shows the same consumer detail.
	if !strings.Contains(jszBody, `"num_pending": 6`) || !strings.Contains(jszBody, `"dead_letters": 1`) {
		t.Errorf("/jsz lacks the consumer detail:\n%s", jszBody)
	}
	// Every publish into JOBS and DLQ was fsynced: the histogram counted
	// them, and its buckets only grow.
	if n := m["wren_fsync_duration_seconds_count"]; n < 11 {
		t.Errorf("fsync histogram counted %v fsyncs; want at least 11", n)
	}
	if m[`wren_fsync_duration_seconds_bucket{le="+Inf"}`] != m["wren_fsync_duration_seconds_count"] {
		t.Errorf("+Inf bucket %v != count %v", m[`wren_fsync_duration_seconds_bucket{le="+Inf"}`], m["wren_fsync_duration_seconds_count"])
	}
	if m["go_memstats_heap_alloc_bytes"] <= 0 || m["process_resident_memory_bytes"] <= 0 {
		t.Errorf("runtime memory series empty: heap %v rss %v", m["go_memstats_heap_alloc_bytes"], m["process_resident_memory_bytes"])
	}
}
