package tests

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The JetStream answers a client that knows nats-server relies on. Each
// expected answer was read from nats-server v2.15.2 (nats-server -js) with
// the same requests; tests/dropin_side_by_side.sh repeats them with the
// nats CLI against both servers.

// TestDropinTimestampIsStoreTime: a message's metadata timestamp is when
// it was stored, on its first delivery, on a late fetch and on a
// redelivery after a nak (KV history reads it as the time of the write).
func TestDropinTimestampIsStoreTime(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "TS", Subjects: []string{"ts.>"}})
	mustPublish(t, js, "ts.a", "one", 1)
	stored, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})
	check := func(what string, wantDelivered uint64) jetstream.Msg {
		t.Helper()
		b, err := c.Fetch(1, jetstream.FetchMaxWait(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		var got jetstream.Msg
		for m := range b.Messages() {
			got = m
		}
		if got == nil {
			t.Fatalf("%s: no message (%v)", what, b.Error())
		}
		md, err := got.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if !md.Timestamp.Equal(stored.Time) || md.NumDelivered != wantDelivered {
			t.Fatalf("%s: timestamp %v, delivered %d; want the stored time %v, delivered %d",
				what, md.Timestamp, md.NumDelivered, stored.Time, wantDelivered)
		}
		return got
	}
	m := check("first delivery", 1)
	if err := m.Nak(); err != nil {
		t.Fatal(err)
	}
	m = check("redelivery after nak", 2)
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDropinConsumerLastActive: delivered.last_active is set by a
// delivery and ack_floor.last_active by an ack (nats server check
// consumer reads them); both are absent before.
func TestDropinConsumerLastActive(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "LA", Subjects: []string{"la.>"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Last != nil || info.AckFloor.Last != nil {
		t.Fatalf("new consumer: last_active %v / %v; want none", info.Delivered.Last, info.AckFloor.Last)
	}
	before := time.Now().Add(-time.Second)
	mustPublish(t, js, "la.a", "x", 1)
	msgs, err := c.Fetch(1, jetstream.FetchMaxWait(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	var m jetstream.Msg
	for m = range msgs.Messages() {
	}
	if m == nil {
		t.Fatalf("no message: %v", msgs.Error())
	}
	info, err = c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Last == nil || info.Delivered.Last.Before(before) || info.AckFloor.Last != nil {
		t.Fatalf("after a delivery: delivered.last_active %v, ack_floor.last_active %v; want a recent time and none",
			info.Delivered.Last, info.AckFloor.Last)
	}
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	info, err = c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Last == nil || info.AckFloor.Last.Before(*info.Delivered.Last) {
		t.Fatalf("after the ack: ack_floor.last_active %v; want at or after the delivery %v", info.AckFloor.Last, info.Delivered.Last)
	}
}

// TestDropinEmptyStreamFirstSeq: a stream that never held a message shows
// first_seq 0; once a message was stored and purged, first_seq is the
// next sequence (nats-server: 0, then last_seq+1).
func TestDropinEmptyStreamFirstSeq(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "E", Subjects: []string{"e.>"}})
	if st := mustInfo(t, s).State; st.FirstSeq != 0 || st.LastSeq != 0 {
		t.Fatalf("new stream: first_seq %d, last_seq %d; want 0, 0", st.FirstSeq, st.LastSeq)
	}
	mustPublish(t, js, "e.a", "x", 1)
	mustPublish(t, js, "e.a", "y", 2)
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if st := mustInfo(t, s).State; st.FirstSeq != 3 || st.LastSeq != 2 || st.Msgs != 0 {
		t.Fatalf("after purge: first_seq %d, last_seq %d, msgs %d; want 3, 2, 0", st.FirstSeq, st.LastSeq, st.Msgs)
	}
}

// TestDropinDirectGetWithoutAllowDirect: DIRECT.GET on a stream without
// allow_direct, or on no stream at all, finds no responders, as with
// nats-server, which subscribes to it only for allow_direct streams.
func TestDropinDirectGetWithoutAllowDirect(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "ND", Subjects: []string{"nd.>"}})
	mustCreate(t, js, jetstream.StreamConfig{Name: "D", Subjects: []string{"d.>"}, AllowDirect: true})
	mustPublish(t, js, "nd.a", "x", 1)
	mustPublish(t, js, "d.a", "y", 1)
	for _, subj := range []string{"$JS.API.DIRECT.GET.ND", "$JS.API.DIRECT.GET.ND.nd.a", "$JS.API.DIRECT.GET.MISSING"} {
		body := []byte(`{"seq":1}`)
		if subj != "$JS.API.DIRECT.GET.ND" && subj != "$JS.API.DIRECT.GET.MISSING" {
			body = nil
		}
		if m, err := nc.Request(subj, body, testTimeout); !errors.Is(err, nats.ErrNoResponders) {
			t.Errorf("%s: %v, %v; want no responders", subj, m, err)
		}
	}
	m, err := nc.Request("$JS.API.DIRECT.GET.D", []byte(`{"seq":1}`), testTimeout)
	if err != nil || string(m.Data) != "y" || m.Header.Get("Nats-Sequence") != "1" {
		t.Fatalf("allow_direct stream: %v, %v; want message 1", m, err)
	}
}

// TestDropinNoWaitWithExpires: a pull request with no_wait and expires on
// a consumer with nothing to deliver is held until it expires and ends
// with 408 (what nats-py's fetch sends); without expires it ends at once
// with 404; a no_wait request that got part of its batch ends with 404.
func TestDropinNoWaitWithExpires(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "NW", Subjects: []string{"nw.>"}})
	mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})
	pull := func(req map[string]any) (*nats.Subscription, time.Time) {
		t.Helper()
		inbox := nats.NewInbox()
		sub, err := nc.SubscribeSync(inbox)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Unsubscribe() })
		b, _ := json.Marshal(req)
		start := time.Now()
		if err := nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.NW.C", inbox, b); err != nil {
			t.Fatal(err)
		}
		return sub, start
	}
	status := func(sub *nats.Subscription) (string, string) {
		t.Helper()
		m, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		return m.Header.Get("Status"), string(m.Data)
	}

	const expires = 300 * time.Millisecond
	sub, start := pull(map[string]any{"batch": 1, "no_wait": true, "expires": expires})
	if st, _ := status(sub); st != "408" {
		t.Fatalf("no_wait with expires, nothing pending: status %q; want 408", st)
	}
	if took := time.Since(start); took < expires {
		t.Fatalf("no_wait with expires answered after %v; want it held for the %v it asked", took, expires)
	}

	sub, _ = pull(map[string]any{"batch": 1, "no_wait": true})
	if st, _ := status(sub); st != "404" {
		t.Fatalf("no_wait without expires: status %q; want 404", st)
	}

	mustPublish(t, js, "nw.a", "x", 1)
	sub, _ = pull(map[string]any{"batch": 2, "no_wait": true, "expires": time.Minute})
	if st, data := status(sub); st != "" || data != "x" {
		t.Fatalf("first reply %q %q; want the message", st, data)
	}
	if st, _ := status(sub); st != "404" {
		t.Fatalf("no_wait after part of the batch: status %q; want 404", st)
	}
}
