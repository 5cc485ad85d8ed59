package jetstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// ForwardConfig describes one forwarded stream: every message of Stream
// under Subject is published, in sequence order, to Upstream (Subject's
// prefix rewritten) through the bus, so a leaf link carries it to a hub
// stream. Each carries Nats-Msg-Id "<Gateway>:<Stream>:<epoch>:<seq>"
// (epoch tells apart a stream deleted and created again) and counts as
// forwarded once the hub's PubAck says it is stored (a duplicate counts).
//
// With HubStream and HubDomain, what the hub holds is read back from the
// hub stream after any interruption (a lost window, a refusal, a gap in
// the acks, a reconnect, a restart): the forward walks the hub stream
// under Upstream from the hub sequence kept with the cursor and sends
// again only the messages the hub lacks, in order, however long the
// outage. Publishes lost in flight while later ones of the window were
// stored (a hub stream leader going away) land after those: out of
// place by at most the publishes that were in flight; nothing new is
// sent until they are stored.
type ForwardConfig struct {
	Gateway  string // the gateway's name
	Stream   string
	Subject  string // "sensors.>"
	Upstream string // "site.gw17.sensors.>"
	// HubStream and HubDomain name the hub stream and its JetStream
	// domain (its API is $JS.<HubDomain>.API: nats-server keeps $JS.API
	// off leaf connections); with them exactly-once holds beyond the
	// hub's duplicate window. Without, a resend is deduplicated only
	// within that window.
	HubStream, HubDomain string
	// HubMaxPayload, when set, returns the hub's max_payload (from the
	// link's INFO; 0 when no link is up or it sets none): a message whose
	// header and payload are larger stops the forward at it, shown as its
	// last error, until the limit allows it.
	HubMaxPayload func() int
	Window        int           // publishes awaiting acks; default 256
	AckWait       time.Duration // default 5s
	// RetryMin and RetryMax bound the backoff after a refusal or a lost
	// window; defaults 250ms and 30s.
	RetryMin, RetryMax time.Duration
}

// Forwarder moves one stream's messages to the hub.
type Forwarder struct {
	js   *JetStream
	cfg  ForwardConfig
	file string // the persisted cursor

	inbox string
	unsub []func()
	poke  chan struct{}
	acks  chan ackMsg
	quit  chan struct{}
	done  chan struct{}

	// Owned by the run goroutine.
	cursor uint64 // every message at or below is forwarded (or not for forwarding)
	// hubSeq is the hub stream sequence at or below which the hub holds
	// every message at or below cursor: a walk of the hub starts after it.
	hubSeq     uint64
	hubKnown   bool   // hubSeq is known (0 then means the hub holds nothing of ours)
	saved      uint64 // cursor as last persisted
	savedHub   uint64
	savedKnown bool
	savedAt    time.Time
	epoch      string
	next       uint64 // next sequence to read
	inflight   []fwdSlot
	pending    int // slots sent and unanswered
	sentTop    uint64
	// held are sequences past the cursor the hub is known to hold (read
	// back from it, or acknowledged out of turn), with their hub sequence:
	// they are not sent again.
	held map[uint64]uint64
	// holdTo: after a walk found the hub holding messages past ones it
	// lacks, nothing past holdTo is sent until the cursor reaches it, so
	// those it lacks are not overtaken again.
	holdTo uint64
	// probe: after a refusal, one publish at a time until one is stored.
	probe    bool
	needSync bool // read back what the hub holds before sending
	walk     fwdWalk
	oversize uint64 // the message last found over the hub's max_payload
	// answeredAt is when the hub last answered a publish of the window.
	answeredAt time.Time
	backoff    time.Duration
	waitTill   time.Time

	kicked atomic.Bool

	// The cursor writer (see saver).
	toSave     chan cursorFile
	flushReq   chan chan struct{}
	saverQuit  chan struct{}
	saverDone  chan struct{}
	hdr        []byte // scratch for the run goroutine
	reply      []byte
	idHead     []byte // "Nats-Msg-Id: <gateway>:<stream>:<epoch>:"
	upCache    map[string]string
	base       []fwdSlot // the window's backing array
	droppedLog time.Time // when dropped messages were last logged

	st fwdStats
}

// fwdSlot is one message of the window.
type fwdSlot struct {
	seq   uint64
	hub   uint64 // its hub sequence once stored (0: not for forwarding)
	sent  time.Time
	state uint8
}

// Slot states.
const (
	slotSent = iota // published, unanswered
	slotDone        // the hub holds it, or it is not for forwarding
	slotLost        // refused, or overtaken by a later ack, or given up
)

// ackMsg is an answer from the hub: to the publish of seq, or (walk != 0)
// to the walk's question of that number.
type ackMsg struct {
	seq  uint64
	walk uint64
	// hub and dup are a PubAck read on arrival (hub != 0); otherwise
	// header and data are the answer as it came.
	hub    uint64
	dup    bool
	header []byte
	data   []byte
}

// fwdStats are what /uplinkz shows; read under mu.
type fwdStats struct {
	mu         sync.Mutex
	cursor     uint64
	lastSeq    uint64
	waiting    uint64
	waitBytes  uint64
	inflight   int
	forwarded  uint64
	duplicates uint64
	dropped    uint64
	resends    uint64
	syncs      uint64
	walked     uint64
	oversize   uint64
	hubLastSeq uint64
	lastAck    time.Time
	lastErr    string
	lastErrAt  time.Time
	rate       float64
	rateAt     time.Time
	rateCount  uint64
	state      string
}

// Forward starts forwarding a stream. The stream need not exist yet: the
// forwarder waits for it.
func (js *JetStream) Forward(cfg ForwardConfig) (*Forwarder, error) {
	if cfg.Window <= 0 {
		cfg.Window = 256
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 5 * time.Second
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 250 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = 30 * time.Second
	}
	if !strings.HasSuffix(cfg.Subject, ">") || !strings.HasSuffix(cfg.Upstream, ">") {
		return nil, errors.New("jetstore: forward subject and upstream must end in \">\"")
	}
	var rb [8]byte
	rand.Read(rb[:])
	f := &Forwarder{
		js:        js,
		cfg:       cfg,
		file:      forwardFile(js.dir, cfg),
		inbox:     "_INBOX.fwd." + hex.EncodeToString(rb[:]) + ".",
		poke:      make(chan struct{}, 1),
		acks:      make(chan ackMsg, 4*cfg.Window),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		needSync:  true,
		held:      map[uint64]uint64{},
		upCache:   map[string]string{},
		base:      make([]fwdSlot, 0, 2*cfg.Window+maxScan),
		toSave:    make(chan cursorFile, 1),
		flushReq:  make(chan chan struct{}),
		saverQuit: make(chan struct{}),
		saverDone: make(chan struct{}),
	}
	f.st.state = "starting"
	if cfg.HubStream == "" {
		js.log.Warn("stream forward without a hub stream to read back: a message sent again after an outage longer than the hub stream's duplicate window is stored twice there (set hub_stream and hub_domain)",
			"stream", cfg.Stream, "upstream", cfg.Upstream)
	}
	unsub, err := js.bus.Subscribe(f.inbox+"*", "", f.onAck)
	if err != nil {
		return nil, err
	}
	f.unsub = append(f.unsub, unsub)
	if unsub, err = js.bus.Subscribe(cfg.Subject, "", func(*protocol.Msg) { f.wake() }); err == nil {
		f.unsub = append(f.unsub, unsub)
	}
	go f.saver()
	go f.run()
	return f, nil
}

// Close stops the forwarder, keeping its cursor.
func (f *Forwarder) Close() {
	select {
	case <-f.quit:
	default:
		close(f.quit)
	}
	<-f.done
	close(f.saverQuit)
	<-f.saverDone
	for _, u := range f.unsub {
		u()
	}
}

// Kick tells the forwarder a link just came up: a backoff in progress
// ends and it tries again at once.
func (f *Forwarder) Kick() {
	f.kicked.Store(true)
	f.wake()
}

func (f *Forwarder) wake() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// onAck takes a PubAck (or refusal) off the bus; it never blocks: a
// full queue drops it, and the window is sent again after AckWait.
func (f *Forwarder) onAck(m *protocol.Msg) {
	tok := m.Subject[len(f.inbox):]
	var a ackMsg
	n := &a.seq
	if len(tok) > 0 && tok[0] == walkToken {
		tok, n = tok[1:], &a.walk
	}
	v, err := strconv.ParseUint(string(tok), 10, 64)
	if err != nil || v == 0 {
		return
	}
	*n = v
	var pa pubAck
	if a.walk == 0 && len(m.Header) == 0 && parsePubAckFast(m.Data, &pa) {
		a.hub, a.dup = pa.Seq, pa.Duplicate
	} else {
		a.header, a.data = append([]byte(nil), m.Header...), append([]byte(nil), m.Data...)
	}
	select {
	case f.acks <- a:
	default:
	}
}

// upstreamSubject rewrites a local subject under Subject to Upstream.
// The rewrites of the last subjects seen are kept: a stream's subjects
// repeat, and this runs for every message forwarded.
func (f *Forwarder) upstreamSubject(subject string) (string, bool) {
	if up, ok := f.upCache[subject]; ok {
		return up, up != ""
	}
	from := strings.TrimSuffix(f.cfg.Subject, ">")
	up := ""
	if strings.HasPrefix(subject, from) {
		up = strings.TrimSuffix(f.cfg.Upstream, ">") + subject[len(from):]
	}
	if len(f.upCache) >= 256 {
		clear(f.upCache)
	}
	f.upCache[subject] = up
	return up, up != ""
}

// idPrefix is the Nats-Msg-Id of the stream's messages before their
// sequence.
func (f *Forwarder) idPrefix() string {
	return f.cfg.Gateway + ":" + f.cfg.Stream + ":" + f.epoch + ":"
}

// parseMsgID returns the sequence of one of this forwarder's ids.
func (f *Forwarder) parseMsgID(id string) (uint64, bool) {
	prefix := f.idPrefix()
	if !strings.HasPrefix(id, prefix) {
		return 0, false
	}
	seq, err := strconv.ParseUint(id[len(prefix):], 10, 64)
	return seq, err == nil
}

func (f *Forwarder) setErr(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.st.mu.Lock()
	changed := f.st.lastErr != msg
	f.st.lastErr, f.st.lastErrAt = msg, time.Now()
	f.st.mu.Unlock()
	if changed {
		f.js.log.Warn("stream forward: "+msg, "stream", f.cfg.Stream, "upstream", f.cfg.Upstream)
	}
}

func (f *Forwarder) setState(s string) {
	f.st.mu.Lock()
	f.st.state = s
	f.st.mu.Unlock()
}
