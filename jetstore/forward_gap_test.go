package jetstore

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// gapHub is a hub stream on a fake bus: it stores what is published under
// site.>, answers with PubAcks and answers STREAM.MSG.GET (last_by_subj,
// or seq with next_by_subj) as nats-server does. It deduplicates by
// Nats-Msg-Id only with dedup set: without, its duplicate window has
// passed, and whatever is sent again is stored again. It can lose the
// publish of a sequence (as one in flight to a hub leader that goes
// away), lose the ack of one (stored, the answer lost on the way back),
// refuse one a number of times, and go down (no answers at all).
type gapHub struct {
	bus     *fakeBus
	mu      sync.Mutex
	dedup   bool
	lose    map[uint64]int
	dropAck map[uint64]bool
	refuse  map[uint64]int
	// onRefuse runs (without the lock) after each refusal.
	onRefuse func(h *gapHub)
	down     bool
	ids      map[string]uint64 // Nats-Msg-Id to hub sequence
	msgs     []gapHubMsg
	sent     map[uint64]int // publishes seen per forward sequence
	gets     int
}

type gapHubMsg struct {
	subject string
	header  []byte
	fwdSeq  uint64
}

func newGapHub(t *testing.T, bus *fakeBus) *gapHub {
	h := &gapHub{bus: bus, lose: map[uint64]int{}, dropAck: map[uint64]bool{}, refuse: map[uint64]int{},
		ids: map[string]uint64{}, sent: map[uint64]int{}}
	if _, err := bus.Subscribe("site.>", "", h.onPublish); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Subscribe("$JS.hub.API.STREAM.MSG.GET.SITES", "", h.onMsgGet); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *gapHub) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

func (h *gapHub) onPublish(m *protocol.Msg) {
	id := string(protocol.HeaderGet(m.Header, "Nats-Msg-Id"))
	fwdSeq, _ := strconv.ParseUint(id[strings.LastIndexByte(id, ':')+1:], 10, 64)
	h.mu.Lock()
	if h.down {
		h.mu.Unlock()
		return
	}
	h.sent[fwdSeq]++
	if h.lose[fwdSeq] > 0 {
		h.lose[fwdSeq]--
		h.mu.Unlock()
		return
	}
	if h.refuse[fwdSeq] > 0 {
		h.refuse[fwdSeq]--
		cb := h.onRefuse
		h.mu.Unlock()
		h.bus.Publish(string(m.Reply), "", nil, []byte(`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}`))
		if cb != nil {
			cb(h)
		}
		return
	}
	seq, dup := h.ids[id]
	dup = dup && h.dedup
	if !dup {
		h.msgs = append(h.msgs, gapHubMsg{string(m.Subject), append([]byte(nil), m.Header...), fwdSeq})
		seq = uint64(len(h.msgs))
		h.ids[id] = seq
	}
	drop := h.dropAck[fwdSeq]
	delete(h.dropAck, fwdSeq)
	h.mu.Unlock()
	if drop {
		return
	}
	ack, _ := json.Marshal(map[string]any{"stream": "SITES", "seq": seq, "duplicate": dup})
	h.bus.Publish(string(m.Reply), "", nil, ack)
}

func (h *gapHub) onMsgGet(m *protocol.Msg) {
	var req struct {
		Seq  uint64 `json:"seq"`
		Last string `json:"last_by_subj"`
		Next string `json:"next_by_subj"`
	}
	json.Unmarshal(m.Data, &req)
	h.mu.Lock()
	if h.down {
		h.mu.Unlock()
		return
	}
	h.gets++
	i := -1 // index of the answer in msgs
	switch {
	case req.Last != "":
		i = len(h.msgs) - 1
	case req.Next != "" && req.Seq > 0:
		if int(req.Seq) <= len(h.msgs) {
			i = int(req.Seq) - 1
		}
	}
	var reply []byte
	if i < 0 {
		reply = []byte(`{"error":{"code":404,"err_code":10037,"description":"no message found"}}`)
	} else {
		msg := h.msgs[i]
		reply, _ = json.Marshal(map[string]any{"message": map[string]any{"subject": msg.subject, "seq": i + 1, "hdrs": msg.header}})
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

// sends returns how often the hub saw the publish of seq.
func (h *gapHub) sends(seq uint64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sent[seq]
}

// gapEnv is a stream layer on a fake bus with a SENSORS stream and a hub.
type gapEnv struct {
	bus *fakeBus
	js  *JetStream
	hub *gapHub
	dir string
}

func newGapEnv(t *testing.T) *gapEnv {
	bus := newFakeBus()
	e := &fuzzEnv{bus: bus, log: &errorLog{}}
	dir := t.TempDir()
	js, err := Open(bus, Config{StoreDir: dir, Sync: SyncNever, Logger: slog.New(errorLogHandler{e.log})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Close() })
	e.js = js
	e.mustOK(t, "STREAM.CREATE.SENSORS", `{"name":"SENSORS","subjects":["sensors.>"]}`)
	return &gapEnv{bus: bus, js: js, hub: newGapHub(t, bus), dir: dir}
}

// publish stores messages first..last in SENSORS, each payload size bytes
// (at least its number).
func (g *gapEnv) publish(t *testing.T, first, last, size int) {
	for i := first; i <= last; i++ {
		inbox := "_INBOX.local." + strconv.Itoa(i)
		data := []byte(strconv.Itoa(i))
		if len(data) < size {
			data = append(data, make([]byte, size-len(data))...)
		}
		g.bus.Publish("sensors.t", inbox, nil, data)
		g.bus.waitFor(t, inbox, 1)
	}
}

var gapForward = ForwardConfig{Gateway: "gw", Stream: "SENSORS", Subject: "sensors.>", Upstream: "site.gw.>",
	HubStream: "SITES", HubDomain: "hub", AckWait: 100 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}

func (g *gapEnv) forward(t *testing.T, cfg ForwardConfig) *Forwarder {
	f, err := g.js.Forward(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func caughtUp(t *testing.T, f *Forwarder, n uint64) {
	waitCond(t, fmt.Sprintf("the forward caught up to %d", n), func() bool {
		s := f.Status()
		return s.Cursor == n && s.InFlight == 0
	})
}

// checkOnce fails unless the hub holds each of 1..n exactly once, and
// returns the order it holds them in.
func (g *gapEnv) checkOnce(t *testing.T, n uint64) []uint64 {
	t.Helper()
	got := g.hub.held()
	seen := map[uint64]int{}
	for _, s := range got {
		seen[s]++
	}
	for s := uint64(1); s <= n; s++ {
		if seen[s] != 1 {
			t.Fatalf("hub holds sequence %d %d times; it holds %v", s, seen[s], got)
		}
	}
	if len(got) != int(n) {
		t.Fatalf("hub holds %v, want each of 1..%d once", got, n)
	}
	return got
}

func seqs(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func wantOrder(t *testing.T, got []uint64, parts ...[]uint64) {
	t.Helper()
	var want []uint64
	for _, p := range parts {
		want = append(want, p...)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hub holds %v, want %v", got, want)
	}
}

// Publishes lost in flight while later ones are stored leave a gap on the
// hub behind its last message: the forward reads the hub back, sends
// only the lost ones, and the hub, past its duplicate window, ends with
// every message exactly once.
func TestForwardFillsGapBehindHubLast(t *testing.T) {
	g := newGapEnv(t)
	g.hub.lose = map[uint64]int{3: 1, 4: 1, 5: 1}
	g.publish(t, 1, 20, 0)
	f := g.forward(t, gapForward)
	caughtUp(t, f, 20)
	got := g.checkOnce(t, 20)
	wantOrder(t, got, seqs(1, 2), seqs(6, 20), seqs(3, 5))
	for s := uint64(6); s <= 20; s++ {
		if n := g.hub.sends(s); n != 1 {
			t.Fatalf("sequence %d, which the hub held, was sent %d times", s, n)
		}
	}
	if s := f.Status(); s.HeldFound != 15 || s.Resends != 3 {
		t.Fatalf("want 15 found held and the 3 lost sent again: %+v", s)
	}
}

// The second loss inside one window: a publish is lost and the acks of
// every message that overtook it are lost too, so no ack arrives past the
// gap. Reading the hub back finds the overtaking ones and the lost one is
// sent; the hub's last message is not taken for proof it holds all.
func TestForwardLostAcksOfOvertakingMessages(t *testing.T) {
	g := newGapEnv(t)
	g.hub.lose = map[uint64]int{3: 1}
	for s := uint64(4); s <= 20; s++ {
		g.hub.dropAck[s] = true
	}
	g.publish(t, 1, 20, 0)
	f := g.forward(t, gapForward)
	caughtUp(t, f, 20)
	wantOrder(t, g.checkOnce(t, 20), seqs(1, 2), seqs(4, 20), seqs(3, 3))
}

// The hub refuses message 5 and stores 6 onwards, then goes down for
// longer than the forward's ack wait, and its duplicate window has passed
// when it comes back: 5 is sent again, one publish at a time while it is
// refused, and nothing the hub stored is sent again.
func TestForwardRefusalThenLongOutage(t *testing.T) {
	g := newGapEnv(t)
	g.hub.refuse = map[uint64]int{5: 3}
	var once sync.Once
	g.hub.onRefuse = func(h *gapHub) {
		once.Do(func() {
			// Down just after the first refusal: the rest of the window
			// is stored, its acks lost.
			go func() {
				time.Sleep(5 * time.Millisecond)
				h.setDown(true)
				time.Sleep(400 * time.Millisecond)
				h.setDown(false)
			}()
		})
	}
	g.publish(t, 1, 40, 0)
	f := g.forward(t, gapForward)
	caughtUp(t, f, 40)
	got := g.checkOnce(t, 40)
	// 5 lands after what was in flight when it was first refused, and
	// nothing after it until it is stored.
	at := 0
	for i, s := range got {
		if s == 5 {
			at = i
		}
	}
	for i, s := range got {
		if (i < 4 && s != uint64(i+1)) || (i > at && s != uint64(i+1)) {
			t.Fatalf("hub holds %v: out of order but for 5", got)
		}
	}
	for s := uint64(1); s <= 40; s++ {
		if n := g.hub.sends(s); s != 5 && n != 1 {
			t.Fatalf("sequence %d was sent %d times; the hub held it", s, n)
		}
	}
	if n := g.hub.sends(5); n != 4 {
		t.Fatalf("refused three times, 5 was sent %d times, want 4", n)
	}
	if s := f.Status(); !strings.Contains(s.LastError, "maximum messages exceeded") {
		t.Fatalf("the refusal is not shown: %+v", s)
	}
}

// The cursor and the hub sequence are kept: a forward started again on
// the same stream reads the hub back from there and sends nothing the hub
// already holds, though its acks were lost.
func TestForwardRestartReadsHubBack(t *testing.T) {
	g := newGapEnv(t)
	for s := uint64(11); s <= 30; s++ {
		g.hub.dropAck[s] = true
	}
	g.publish(t, 1, 30, 0)
	f, err := g.js.Forward(gapForward)
	if err != nil {
		t.Fatal(err)
	}
	waitCond(t, "30 on the hub", func() bool { return len(g.hub.held()) == 30 })
	waitCond(t, "cursor at 10", func() bool { return f.Status().Cursor >= 10 })
	g.hub.setDown(true) // so the first forward learns nothing more
	f.Close()
	g.hub.setDown(false)
	if f.Status().Cursor != 10 {
		t.Fatalf("first forward: %+v", f.Status())
	}
	f2 := g.forward(t, gapForward)
	caughtUp(t, f2, 30)
	wantOrder(t, g.checkOnce(t, 30), seqs(1, 30))
	if s := f2.Status(); s.HeldFound != 20 {
		t.Fatalf("the restarted forward found %d held, want 20: %+v", s.HeldFound, s)
	}
}

// A message larger than the hub's max_payload stops the forward at it,
// shown and counted once; what came before is forwarded, nothing after
// is sent, and once the hub's limit allows it every message goes, in
// order.
func TestForwardStopsAtMessageOverHubMaxPayload(t *testing.T) {
	g := newGapEnv(t)
	var mu sync.Mutex
	limit := 200
	cfg := gapForward
	cfg.HubMaxPayload = func() int {
		mu.Lock()
		defer mu.Unlock()
		return limit
	}
	g.publish(t, 1, 4, 0)
	g.publish(t, 5, 5, 500)
	g.publish(t, 6, 10, 0)
	f := g.forward(t, cfg)
	var s ForwardStatus
	waitCond(t, "the forward stopped at 5", func() bool {
		s = f.Status()
		return s.Cursor == 4 && s.OverMaxPayload == 1 && strings.HasPrefix(s.LastError, "message 5 is ")
	})
	if want := "bytes, over the hub's max_payload 200"; !strings.HasSuffix(s.LastError, want) {
		t.Fatalf("last error %q, want it to end %q", s.LastError, want)
	}
	f.Kick()
	time.Sleep(50 * time.Millisecond)
	if s := f.Status(); s.Cursor != 4 || s.OverMaxPayload != 1 {
		t.Fatalf("after a retry at the same limit: %+v", s)
	}
	if n := g.hub.sends(6); n != 0 {
		t.Fatalf("sequence 6 was sent past the one over max_payload")
	}
	mu.Lock()
	limit = 1 << 20
	mu.Unlock()
	caughtUp(t, f, 10)
	wantOrder(t, g.checkOnce(t, 10), seqs(1, 10))
}
