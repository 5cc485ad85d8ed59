package tests

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/leaf"
)

// traceEvent is the part of nats-server's MsgTraceEvent the tests read.
type traceEvent struct {
	Server  struct{ Name string }
	Request struct {
		Header  map[string][]string
		MsgSize int
	}
	Hops   int
	Events []struct {
		Type       string
		Kind       int
		CID        uint64
		Name       string
		Acc        string
		Subj       string
		Sub        string
		Queue      string
		Hop        string
		Stream     string
		Subject    string
		Error      string
		NoInterest bool
	}
}

// tracedPublish publishes subject with Nats-Trace-Dest (and
// Nats-Trace-Only when only) and returns the trace events sent back.
func tracedPublish(t *testing.T, nc *nats.Conn, subject string, only bool, want int) []traceEvent {
	t.Helper()
	dest := nats.NewInbox()
	sub, err := nc.SubscribeSync(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	m := nats.NewMsg(subject)
	m.Data = []byte("probe")
	m.Header.Set("Nats-Trace-Dest", dest)
	if only {
		m.Header.Set("Nats-Trace-Only", "true")
	}
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	var evs []traceEvent
	for range want {
		em, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("trace event %d of %d: %v", len(evs)+1, want, err)
		}
		var ev traceEvent
		if err := json.Unmarshal(em.Data, &ev); err != nil {
			t.Fatalf("trace event %s: %v", em.Data, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// summary lists an event's entries as "type:detail".
func (e *traceEvent) summary() []string {
	var out []string
	for _, x := range e.Events {
		switch x.Type {
		case "in":
			out = append(out, "in:"+x.Subj)
		case "eg":
			s := "eg:" + x.Sub
			if x.Hop != "" {
				s = "eg:hop " + x.Hop
			}
			out = append(out, s)
		case "js":
			out = append(out, "js:"+x.Stream+" "+x.Subject+" "+x.Error)
		default:
			out = append(out, x.Type)
		}
	}
	return out
}

// TestDropinTraceOnly: a publish with Nats-Trace-Dest and Nats-Trace-Only
// is neither delivered nor stored; the destination gets one event with the
// ingress, the subscriber it would have reached and the stream that would
// have stored it (nats-server v2.15.2 answers the same publish the same
// way: "in", "js" for the stream, "eg" for the subscriber).
func TestDropinTraceOnly(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}})
	other := connectNATS(t, j.srv, nats.Name("dashboard"))
	sub, err := other.SubscribeSync("t.>")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, other)

	ev := tracedPublish(t, nc, "t.x", true, 1)[0]
	got := strings.Join(ev.summary(), ", ")
	if want := "in:t.x, js:T t.x , eg:t.>"; !sameEvents(ev.summary(), want) {
		t.Fatalf("trace-only events %q; want %q", got, want)
	}
	if ev.Events[0].Acc != "$G" || ev.Request.Header["Nats-Trace-Only"][0] != "true" || ev.Request.MsgSize == 0 {
		t.Fatalf("trace-only event %+v", ev)
	}
	for _, e := range ev.Events {
		if e.Type == "eg" && (e.Kind != 0 || e.Name != "dashboard") {
			t.Fatalf("egress %+v; want the client dashboard", e)
		}
	}
	flushNATS(t, nc, other)
	if n, _, _ := sub.Pending(); n != 0 {
		t.Fatalf("trace-only message delivered to the subscriber (%d pending)", n)
	}
	if st := mustInfo(t, s).State; st.Msgs != 0 {
		t.Fatalf("trace-only message stored: %d messages", st.Msgs)
	}

	// A trace-only request to an in-process service is listed, not
	// acted on: the stream is still there.
	ev = tracedPublish(t, nc, "$JS.API.STREAM.DELETE.T", true, 1)[0]
	if got := ev.summary(); !sameEvents(got, "in:$JS.API.STREAM.DELETE.T, eg:$JS.API.>") || ev.Events[1].Kind != 3 {
		t.Fatalf("trace-only API request events %q; want the ingress and the API service (kind 3)", got)
	}
	mustInfo(t, s)
}

// sameEvents compares an event summary with want, order aside (the
// stream's and the subscriber's entries come in subscription order).
func sameEvents(got []string, want string) bool {
	w := strings.Split(want, ", ")
	if len(got) != len(w) || got[0] != w[0] {
		return false
	}
	left := map[string]int{}
	for _, x := range w {
		left[x]++
	}
	for _, x := range got {
		left[x]--
	}
	for _, n := range left {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestDropinTraceDelivered: without Nats-Trace-Only the message is
// delivered and stored, and the one event comes once the stream has
// written it; the stored copy's Nats-Trace-Dest reads "trace disabled", so
// a consumer's delivery of it starts no second trace.
func TestDropinTraceDelivered(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}})
	sub, err := nc.SubscribeSync("t.>")
	if err != nil {
		t.Fatal(err)
	}
	dest := nats.NewInbox()
	events, err := nc.SubscribeSync(dest)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("t.y")
	m.Data = []byte("probe")
	m.Header.Set("Nats-Trace-Dest", dest)
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	em, err := events.NextMsg(testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	var ev traceEvent
	if err := json.Unmarshal(em.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if want := "in:t.y, eg:t.>, js:T t.y "; !sameEvents(ev.summary(), want) {
		t.Fatalf("events %q; want %q", ev.summary(), want)
	}
	if got, err := sub.NextMsg(testTimeout); err != nil || string(got.Data) != "probe" {
		t.Fatalf("subscriber: %v, %v; want the message", got, err)
	}
	stored, err := s.GetMsg(jsCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if v := stored.Header.Get("Nats-Trace-Dest"); v != "trace disabled" {
		t.Fatalf("stored Nats-Trace-Dest %q; want \"trace disabled\"", v)
	}
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})
	if got := fetchData(t, c, 1, testTimeout, true); len(got) != 1 {
		t.Fatalf("consumer got %v", got)
	}
	flushNATS(t, nc)
	if n, _, _ := events.Pending(); n != 0 {
		t.Fatalf("%d more trace events after the consumer's delivery; want none", n)
	}
}

// TestDropinTraceParent: with Options.TraceDest set, a message with a
// sampled W3C traceparent is traced there; an unsampled one is not.
func TestDropinTraceParent(t *testing.T) {
	s := startCoreServer(t, server.Options{TraceDest: "traces.gw"})
	nc := connectNATS(t, s)
	traces, err := nc.SubscribeSync("traces.gw")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, nc)
	for _, tp := range []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"} {
		m := nats.NewMsg("orders.new")
		m.Header.Set("traceparent", tp)
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	em, err := traces.NextMsg(testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	var ev traceEvent
	json.Unmarshal(em.Data, &ev)
	if tp := ev.Request.Header["traceparent"]; len(tp) != 1 || !strings.HasSuffix(tp[0], "-01") {
		t.Fatalf("traced %v; want the sampled message only", ev.Request.Header)
	}
	flushNATS(t, nc)
	if n, _, _ := traces.Pending(); n != 0 {
		t.Fatalf("%d more trace events; want one", n)
	}
}

// TestDropinTraceThroughGateway: nats trace run against the hub shows the
// message's path through a gateway: the hub's egress to the leaf link
// with a hop id, and the gateway's own event under that hop with its
// subscriber (nats-server follows the same Nats-Trace-Hop protocol).
func TestDropinTraceThroughGateway(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	gw := startGateway(t, "gw1", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	gw.waitLinked(t, 1)
	local := connectNATS(t, gw.srv, nats.Name("meter"))
	if _, err := local.SubscribeSync("plant.>"); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, local)
	waitHubInterest(t, hub, "plant.>")

	hc := connectHub(t, hub)
	evs := tracedPublish(t, hc, "plant.line3", true, 2)
	var hubEv, gwEv *traceEvent
	for i := range evs {
		if evs[i].Server.Name == "gw1" {
			gwEv = &evs[i]
		} else {
			hubEv = &evs[i]
		}
	}
	if hubEv == nil || gwEv == nil {
		t.Fatalf("events from %q and %q; want hub and gw1", evs[0].Server.Name, evs[1].Server.Name)
	}
	var hop string
	for _, e := range hubEv.Events {
		if e.Type == "eg" && e.Kind == 4 {
			hop = e.Hop
		}
	}
	if hop == "" || gwEv.Request.Header["Nats-Trace-Hop"][0] != hop {
		t.Fatalf("hub egress hop %q, gateway event hop %v", hop, gwEv.Request.Header["Nats-Trace-Hop"])
	}
	if got := gwEv.summary(); !sameEvents(got, "in:plant.line3, eg:plant.>") || gwEv.Events[0].Kind != 4 {
		t.Fatalf("gateway events %q (ingress kind %d); want the leaf ingress and the subscriber", got, gwEv.Events[0].Kind)
	}

	out := mustNATS(t, hub.ClientURL(), []string{"Leafnode", "gw1", `subject:"plant.>"`}, "trace", "plant.line3")
	t.Logf("nats trace through the gateway:\n%s", out)
}

// TestDropinTraceCLI: nats trace against a gateway prints the stream and
// the subscriber, as against nats-server (tests/dropin_side_by_side.sh).
func TestDropinTraceCLI(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}})
	nc := connectNATS(t, j.srv)
	if _, err := nc.SubscribeSync("t.>"); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, nc)
	mustNATS(t, j.srv.ClientURL(), []string{`JetStream action:"stored" stream:"T" subject:"t.x"`, `subject:"t.>"`, "JetStream: 1", "Client: 1"}, "trace", "t.x")
}
