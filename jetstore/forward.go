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
// Publishes lost in flight while later ones of the window were stored are
// sent again after those: they land out of place by less than a window.
type ForwardConfig struct {
	Gateway  string // the gateway's name
	Stream   string
	Subject  string // "sensors.>"
	Upstream string // "site.gw17.sensors.>"
	// HubStream and HubDomain name the hub stream and its JetStream
	// domain; with them, before sending after any interruption the
	// forwarder asks the hub for the last message it holds under Upstream,
	// so exactly-once holds beyond the hub's duplicate window.
	HubStream, HubDomain string
	Window               int           // publishes awaiting acks; default 256
	AckWait              time.Duration // default 5s
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
	cursor   uint64 // every message at or below is forwarded (or not for forwarding)
	saved    uint64 // cursor as last persisted
	savedAt  time.Time
	epoch    string
	next     uint64 // next sequence to read
	inflight []fwdSlot
	needSync bool // ask the hub what it holds before sending
	// gap is the lowest sequence the hub may lack while it holds later
	// ones, found since the last sync (0 if none): one it refused, or one
	// still unacknowledged when a later one was acknowledged (a publish
	// lost with a link or a hub leader while later ones went another way).
	gap      uint64
	backoff  time.Duration
	waitTill time.Time

	kicked atomic.Bool

	// The cursor writer (see saver).
	toSave     chan cursorFile
	flushReq   chan chan struct{}
	saverQuit  chan struct{}
	saverDone  chan struct{}
	hdr        []byte // scratch for the run goroutine
	reply      []byte
	droppedLog time.Time // when dropped messages were last logged

	st fwdStats
}

type fwdSlot struct {
	seq  uint64
	sent time.Time
	done bool
	size int
}

type ackMsg struct {
	seq    uint64
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
		toSave:    make(chan cursorFile, 1),
		flushReq:  make(chan chan struct{}),
		saverQuit: make(chan struct{}),
		saverDone: make(chan struct{}),
	}
	f.st.state = "starting"
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
	var seq uint64
	if string(tok) != syncToken {
		var err error
		if seq, err = strconv.ParseUint(string(tok), 10, 64); err != nil || seq == 0 {
			return
		}
	}
	a := ackMsg{seq: seq, header: append([]byte(nil), m.Header...), data: append([]byte(nil), m.Data...)}
	select {
	case f.acks <- a:
	default:
	}
}

// upstreamSubject rewrites a local subject under Subject to Upstream.
func (f *Forwarder) upstreamSubject(subject string) (string, bool) {
	from := strings.TrimSuffix(f.cfg.Subject, ">")
	if !strings.HasPrefix(subject, from) {
		return "", false
	}
	return strings.TrimSuffix(f.cfg.Upstream, ">") + subject[len(from):], true
}

// msgID is the Nats-Msg-Id of a stream sequence.
func (f *Forwarder) msgID(seq uint64) string {
	return f.cfg.Gateway + ":" + f.cfg.Stream + ":" + f.epoch + ":" + strconv.FormatUint(seq, 10)
}

// parseMsgID returns the sequence of one of this forwarder's ids.
func (f *Forwarder) parseMsgID(id string) (uint64, bool) {
	prefix := f.cfg.Gateway + ":" + f.cfg.Stream + ":" + f.epoch + ":"
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
