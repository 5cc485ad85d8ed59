package tests

import (
	"encoding/json"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// batchAbandoned is the advisory of an abandoned atomic batch.
type batchAbandoned struct {
	Type   string    `json:"type"`
	ID     string    `json:"id"`
	Time   time.Time `json:"timestamp"`
	Stream string    `json:"stream"`
	Batch  string    `json:"batch"`
	Reason string    `json:"reason"`
}

// An atomic batch that was opened and then ended without a commit is
// advised on $JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.<stream>, with the
// batch and the reason, as nats-server advises it: a gap and an end
// marker as the first message are "incomplete", the 1001st message
// "large". A commit of a batch that was never opened is refused without an
// advisory. The same steps run against nats-server v2.15.2 and must give
// the same advisories.
func TestAtomicBatchAbandonedAdvisory(t *testing.T) {
	for _, peer := range []string{"wren", "nats-server"} {
		t.Run(peer, func(t *testing.T) {
			var url string
			if peer == "wren" {
				url = startJS(t, "").srv.ClientURL()
			} else {
				hub := startHub(t, hubOpts(t, "hub", t.TempDir()))
				url = hub.ClientURL()
			}
			nc, err := nats.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			atomicStream(t, js, "UP", true)
			advs, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.>")
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}

			// A gap: 1, then 3.
			if err := nc.PublishMsg(batchMsg("up.a", "1", "gap", 1, "")); err != nil {
				t.Fatal(err)
			}
			if a := batchRequest(t, nc, batchMsg("up.a", "3", "gap", 3, "1")); a.code() != 10176 {
				t.Fatalf("commit after a gap: %+v; want 10176", a)
			}
			expectAbandoned(t, advs, "UP", "gap", "incomplete")

			// An end marker as the first message.
			if a := batchRequest(t, nc, batchMsg("up.a", "", "eob", 1, "eob")); a.code() != 10176 {
				t.Fatalf("end marker alone: %+v; want 10176", a)
			}
			expectAbandoned(t, advs, "UP", "eob", "incomplete")

			// A jump past the 1000 messages a batch may hold is a gap
			// first; the 1001st message in order is too many.
			if err := nc.PublishMsg(batchMsg("up.a", "1", "jump", 1, "")); err != nil {
				t.Fatal(err)
			}
			if a := batchRequest(t, nc, batchMsg("up.a", "x", "jump", 1001, "1")); a.code() != 10176 {
				t.Fatalf("sequence 1 then 1001: %+v; want 10176", a)
			}
			expectAbandoned(t, advs, "UP", "jump", "incomplete")
			for i := 1; i <= 1000; i++ {
				if err := nc.PublishMsg(batchMsg("up.a", "x", "big", i, "")); err != nil {
					t.Fatal(err)
				}
			}
			if a := batchRequest(t, nc, batchMsg("up.a", "x", "big", 1001, "1")); a.code() != 10199 {
				t.Fatalf("message 1001 of a batch: %+v; want 10199", a)
			}
			expectAbandoned(t, advs, "UP", "big", "large")

			// Never opened: refused, not advised.
			if a := batchRequest(t, nc, batchMsg("up.a", "2", "never", 2, "1")); a.code() != 10176 {
				t.Fatalf("commit of a batch never opened: %+v; want 10176", a)
			}
			// A committed batch is not advised either.
			if a := publishBatch(t, nc, []*nats.Msg{batchMsg("up.a", "1", "ok", 1, ""), batchMsg("up.a", "2", "ok", 2, "1")}); a.code() != 0 || a.Count != 2 {
				t.Fatalf("commit: %+v", a)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			if m, err := advs.NextMsg(200 * time.Millisecond); err == nil {
				t.Fatalf("advisory for a batch that was never opened or was committed: %s", m.Data)
			}
		})
	}
}

func expectAbandoned(t *testing.T, sub *nats.Subscription, stream, batch, reason string) {
	t.Helper()
	m, err := sub.NextMsg(defaultReqTimeout)
	if err != nil {
		t.Fatalf("no advisory for batch %q: %v", batch, err)
	}
	if want := "$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED." + stream; m.Subject != want {
		t.Errorf("advisory on %q; want %q", m.Subject, want)
	}
	var a batchAbandoned
	if err := json.Unmarshal(m.Data, &a); err != nil {
		t.Fatalf("advisory %s: %v", m.Data, err)
	}
	if a.Type != natsserver.JSStreamBatchAbandonedAdvisoryType || a.ID == "" || a.Time.IsZero() ||
		a.Stream != stream || a.Batch != batch || a.Reason != reason {
		t.Errorf("advisory %s; want stream %q, batch %q, reason %q", m.Data, stream, batch, reason)
	}
}
