package jetstore

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// gapHub is a hub stream on a fake bus: it stores what is published under
// site.>, deduplicating by Nats-Msg-Id, answers with PubAcks, answers the
// forwarder's question for its last message, and loses the first publish
// of the sequences in lose (as a publish in flight to a hub leader that
// goes away is lost while later ones reach its successor).
type gapHub struct {
	bus  *fakeBus
	mu   sync.Mutex
	lose map[uint64]bool
	ids  map[string]uint64 // Nats-Msg-Id to hub sequence
	msgs []gapHubMsg
}

type gapHubMsg struct {
	subject string
	header  []byte
	fwdSeq  uint64
}

func (h *gapHub) onPublish(m *protocol.Msg) {
	id := string(protocol.HeaderGet(m.Header, "Nats-Msg-Id"))
	fwdSeq, _ := strconv.ParseUint(id[strings.LastIndexByte(id, ':')+1:], 10, 64)
	h.mu.Lock()
	if h.lose[fwdSeq] {
		delete(h.lose, fwdSeq)
		h.mu.Unlock()
		return
	}
	seq, dup := h.ids[id]
	if !dup {
		h.msgs = append(h.msgs, gapHubMsg{string(m.Subject), append([]byte(nil), m.Header...), fwdSeq})
		seq = uint64(len(h.msgs))
		h.ids[id] = seq
	}
	h.mu.Unlock()
	ack, _ := json.Marshal(map[string]any{"stream": "SITES", "seq": seq, "duplicate": dup})
	h.bus.Publish(string(m.Reply), "", nil, ack)
}

func (h *gapHub) onMsgGet(m *protocol.Msg) {
	h.mu.Lock()
	var reply []byte
	if n := len(h.msgs); n == 0 {
		reply = []byte(`{"error":{"code":404,"err_code":10037,"description":"no message found"}}`)
	} else {
		last := h.msgs[n-1]
		reply, _ = json.Marshal(map[string]any{"message": map[string]any{"subject": last.subject, "seq": n, "hdrs": last.header}})
	}
	h.mu.Unlock()
	h.bus.Publish(string(m.Reply), "", nil, reply)
}

// held returns the forward sequences the hub holds, in its order.
func (h *gapHub) held() []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]uint64, len(h.msgs))
	for i, m := range h.msgs {
		out[i] = m.fwdSeq
	}
	return out
}

// Publishes lost in flight while later ones are stored leave a gap on the
// hub behind its last message: the forward does not take the hub's last
// message for proof that it holds everything before, sends the window
// again, and the hub ends with every message exactly once.
func TestForwardFillsGapBehindHubLast(t *testing.T) {
	bus := newFakeBus()
	e := &fuzzEnv{bus: bus, log: &errorLog{}}
	js, err := Open(bus, Config{StoreDir: t.TempDir(), Sync: SyncNever, Logger: slog.New(errorLogHandler{e.log})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Close() })
	e.js = js
	e.mustOK(t, "STREAM.CREATE.SENSORS", `{"name":"SENSORS","subjects":["sensors.>"]}`)
	hub := &gapHub{bus: bus, lose: map[uint64]bool{3: true, 4: true, 5: true}, ids: map[string]uint64{}}
	if _, err := bus.Subscribe("site.>", "", hub.onPublish); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Subscribe("$JS.hub.API.STREAM.MSG.GET.SITES", "", hub.onMsgGet); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := 1; i <= n; i++ {
		inbox := "_INBOX.local." + strconv.Itoa(i)
		bus.Publish("sensors.t", inbox, nil, []byte(strconv.Itoa(i)))
		bus.waitFor(t, inbox, 1)
	}
	f, err := js.Forward(ForwardConfig{Gateway: "gw", Stream: "SENSORS", Subject: "sensors.>", Upstream: "site.gw.>",
		HubStream: "SITES", HubDomain: "hub", AckWait: 100 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	waitCond(t, "the forward caught up", func() bool {
		s := f.Status()
		return s.Cursor == n && s.InFlight == 0
	})
	got := hub.held()
	want := make([]uint64, 0, n)
	for i := uint64(1); i <= n; i++ {
		want = append(want, i)
	}
	// Stored in the order it arrived: 1, 2, 6..20, then the resent 3..5.
	seen := map[uint64]int{}
	for _, s := range got {
		seen[s]++
	}
	for _, s := range want {
		if seen[s] != 1 {
			t.Fatalf("hub holds sequence %d %d times; it holds %v", s, seen[s], got)
		}
	}
	if len(got) != n {
		t.Fatalf("hub holds %v, want each of 1..%d once", got, n)
	}
	if s := f.Status(); s.Resends == 0 || s.Duplicates == 0 {
		t.Fatalf("the lost publishes were not sent again with the window: %+v", s)
	}
}
