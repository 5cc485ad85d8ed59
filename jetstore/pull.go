package jetstore

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// PullConfig describes a hub stream pulled down into a local stream (the
// hub's commands to the gateway): a durable pull consumer on the hub
// stream delivers in order; each message is stored in the local stream
// under its own subject with Nats-Msg-Id "<HubDomain>:<HubStream>:<seq>",
// and acked upstream only once the local stream acknowledged it (after
// its fsync). Messages the local stream already holds are acked without
// being stored again, so a redelivery after a crash or an outage longer
// than any duplicate window is never stored twice.
type PullConfig struct {
	Stream    string // the local stream; it must capture Filter's subjects
	HubStream string
	HubDomain string
	Consumer  string // names the hub consumers: <Consumer>-<random> per session
	Filter    string // what of the hub stream is pulled
	Batch     int    // messages per pull; default 256
	AckWait   time.Duration
}

// Puller pulls one hub stream into a local stream.
type Puller struct {
	js    *JetStream
	cfg   PullConfig
	inbox string
	msgs  chan *protocol.Msg
	local chan *protocol.Msg // the local stream's PubAcks
	unsub []func()
	quit  chan struct{}
	done  chan struct{}

	// Run goroutine only.
	highest uint64 // the highest hub sequence the local stream holds
	known   bool   // highest was read from the local stream
	session string // this session's consumer on the hub
	gen     uint64 // numbers the groups stored locally

	mu      sync.Mutex
	stored  uint64
	skipped uint64
	lastErr string
	state   string
}

// PullStatus is one pull in /uplinkz.
type PullStatus struct {
	Stream      string `json:"stream"`
	HubStream   string `json:"hub_stream"`
	Consumer    string `json:"consumer"`
	State       string `json:"state"`
	Stored      uint64 `json:"stored"`
	Redelivered uint64 `json:"already_held"`
	LastError   string `json:"last_error,omitempty"`
}

// Pull starts pulling a hub stream into a local stream.
func (js *JetStream) Pull(cfg PullConfig) (*Puller, error) {
	if cfg.Stream == "" || cfg.HubStream == "" || cfg.HubDomain == "" || cfg.Consumer == "" || cfg.Filter == "" {
		return nil, errors.New("jetstore: a pull needs stream, hub_stream, hub_domain, consumer and filter")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	var rb [8]byte
	rand.Read(rb[:])
	p := &Puller{js: js, cfg: cfg, inbox: "_INBOX.pull." + hex.EncodeToString(rb[:]) + ".",
		msgs: make(chan *protocol.Msg, 4*cfg.Batch+16), local: make(chan *protocol.Msg, cfg.Batch+16),
		quit: make(chan struct{}), done: make(chan struct{}), state: "starting"}
	unsub, err := js.bus.Subscribe(p.inbox+"*", "", func(m *protocol.Msg) {
		select {
		case p.msgs <- m.Clone():
		default: // redelivered by the hub after its ack wait
		}
	})
	if err != nil {
		return nil, err
	}
	p.unsub = append(p.unsub, unsub)
	if unsub, err = js.bus.Subscribe(p.inbox+"local.*", "", func(m *protocol.Msg) {
		select {
		case p.local <- m.Clone():
		default:
		}
	}); err != nil {
		p.unsub[0]()
		return nil, err
	}
	p.unsub = append(p.unsub, unsub)
	go p.run()
	return p, nil
}

// Close stops the pull.
func (p *Puller) Close() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.done
	for _, u := range p.unsub {
		u()
	}
}

// Kick tells the puller a link just came up.
func (p *Puller) Kick() {
	select {
	case p.msgs <- nil:
	default:
	}
}

func (p *Puller) api(op string) string {
	return "$JS." + p.cfg.HubDomain + ".API." + op + "." + p.cfg.HubStream + "." + p.session
}

func (p *Puller) setErr(s string) {
	p.mu.Lock()
	changed := p.lastErr != s
	p.lastErr = s
	p.mu.Unlock()
	if changed && s != "" {
		p.js.log.Warn("stream pull: "+s, "stream", p.cfg.Stream, "hub_stream", p.cfg.HubStream)
	}
}

func (p *Puller) setState(s string) {
	p.mu.Lock()
	p.state = s
	p.mu.Unlock()
}

// errLinkUp ends a wait when a link came up meanwhile: what was sent
// before is likely lost, so it is sent again at once.
var errLinkUp = errors.New("a link came up")

// request publishes body to subject and waits for one answer on token.
func (p *Puller) request(subject, token string, body []byte, wait time.Duration) (*protocol.Msg, error) {
	if err := p.js.bus.Publish(subject, p.inbox+token, nil, body); err != nil {
		return nil, err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return nil, errors.New("closed")
		case <-t.C:
			return nil, errors.New("no answer within " + wait.String())
		case m := <-p.msgs:
			if m == nil {
				return nil, errLinkUp
			}
			if string(m.Subject) == p.inbox+token {
				return m, nil
			}
		}
	}
}

// run ensures the consumer, then pulls batches until closed.
func (p *Puller) run() {
	defer close(p.done)
	backoff := 250 * time.Millisecond
	ready := false
	var n int
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		st := p.js.lookup(p.cfg.Stream)
		var err error
		switch {
		case st == nil:
			err = errors.New("the local stream " + p.cfg.Stream + " does not exist")
		case !p.known:
			p.highest, p.known = p.localHighest(st), true
		}
		if err == nil && !ready {
			err = p.ensureConsumer()
			ready = err == nil
		}
		if err == nil {
			n++
			err = p.pullBatch(st, strconv.Itoa(n))
			if err != nil {
				ready = false
			}
		}
		if err == nil || errors.Is(err, errLinkUp) {
			backoff = 250 * time.Millisecond
			continue
		}
		p.setErr(err.Error())
		p.setState("retrying")
		select {
		case <-p.quit:
			return
		case <-time.After(backoff):
		case m := <-p.msgs:
			if m == nil {
				backoff = 250 * time.Millisecond
			}
		}
		if backoff *= 2; backoff > 10*time.Second {
			backoff = 10 * time.Second
		}
	}
}

// localHighest finds the highest hub sequence the local stream holds,
// from the newest of its messages that came from this pull.
func (p *Puller) localHighest(st *stream) uint64 {
	state := st.store.State()
	prefix := p.cfg.HubDomain + ":" + p.cfg.HubStream + ":"
	for seq, n := state.LastSeq, 0; seq >= state.FirstSeq && seq > 0 && n < 100000; seq, n = seq-1, n+1 {
		m, err := st.store.Load(seq)
		if err != nil {
			continue
		}
		id := string(protocol.HeaderGet(m.Header, "Nats-Msg-Id"))
		if strings.HasPrefix(id, prefix) {
			h, _ := strconv.ParseUint(id[len(prefix):], 10, 64)
			return h
		}
	}
	return 0
}

// ensureConsumer makes this session's consumer on the hub, starting just
// after the newest message the local stream holds: the local stream is
// the cursor, so a delivery left unacked by a crash or a cut link is
// simply delivered again in order, never behind a later one. Each session
// has its own consumer (named Consumer-<random>), which the hub drops
// after 30s without pulls, so a late delivery for an earlier session is
// told apart and ignored.
func (p *Puller) ensureConsumer() error {
	var rb [4]byte
	rand.Read(rb[:])
	p.session = p.cfg.Consumer + "-" + hex.EncodeToString(rb[:])
	// Acks of the last group may still be on their way when the next pull
	// request reaches the hub: room for two batches keeps them from
	// shortening it.
	cc := map[string]any{
		"name": p.session, "filter_subject": p.cfg.Filter,
		"ack_policy": "explicit", "deliver_policy": "all", "ack_wait": int64(p.cfg.AckWait),
		"max_ack_pending": 2 * p.cfg.Batch, "max_deliver": -1, "inactive_threshold": int64(30 * time.Second),
	}
	if p.highest > 0 {
		cc["deliver_policy"], cc["opt_start_seq"] = "by_start_sequence", p.highest+1
	}
	body, _ := json.Marshal(map[string]any{"stream_name": p.cfg.HubStream, "config": cc, "action": "create"})
	m, err := p.request(p.api("CONSUMER.CREATE"), "create", body, 2*time.Second)
	if err != nil {
		return fmt.Errorf("creating the hub consumer: %w", err)
	}
	var r struct {
		Error *apiError `json:"error"`
	}
	if st, _ := protocol.HeaderStatus(m.Header); st == 503 {
		return errors.New("the hub's JetStream API for domain " + p.cfg.HubDomain + " does not answer")
	}
	if json.Unmarshal(m.Data, &r) == nil && r.Error != nil {
		return errors.New("creating the hub consumer: " + r.Error.Description)
	}
	p.setErr("")
	return nil
}

// What arrived on the inbox during a pull.
const (
	pullIgnore   = iota // a heartbeat, a late answer, a link coming up
	pullDelivery        // a message of the hub stream
	pullOver            // the hub ended the pull request
)

// pullBatch asks for a batch and stores what arrives, in order: what has
// arrived by the time the local stream is free is stored as one group
// (one append, one fsync), and each message of the group is acked
// upstream only once the local stream acknowledged all of it.
func (p *Puller) pullBatch(st *stream, token string) error {
	expires := 5 * time.Second
	body, _ := json.Marshal(map[string]any{"batch": p.cfg.Batch, "expires": int64(expires)})
	if err := p.js.bus.Publish(p.api("CONSUMER.MSG.NEXT"), p.inbox+token, nil, body); err != nil {
		return err
	}
	p.setState("pulling")
	t := time.NewTimer(expires + 2*time.Second)
	defer t.Stop()
	got := 0
	group := make([]*protocol.Msg, 0, p.cfg.Batch)
	for got < p.cfg.Batch {
		var m *protocol.Msg
		select {
		case <-p.quit:
			return nil
		case <-t.C:
			return errors.New("the hub did not end the pull request (link down?)")
		case m = <-p.msgs:
		}
		kind, err := p.classify(m, token)
		for kind == pullDelivery {
			group = append(group, m)
			got++
			if got == p.cfg.Batch {
				break
			}
			// Whatever else has arrived joins this group.
			select {
			case m = <-p.msgs:
				kind, err = p.classify(m, token)
				continue
			default:
			}
			break
		}
		if len(group) > 0 {
			if serr := p.storeGroup(st, group); serr != nil {
				return serr
			}
			clear(group)
			group = group[:0]
		}
		if err != nil || kind == pullOver {
			return err
		}
	}
	return nil
}

// classify tells what arrived on the inbox during the pull request token.
func (p *Puller) classify(m *protocol.Msg, token string) (int, error) {
	switch {
	case m == nil:
		return pullIgnore, nil
	case strings.HasPrefix(string(m.Reply), "$JS.ACK."):
		// Deliveries show the subject they were stored under, with an
		// ack reply; statuses come on the request's own inbox.
		return pullDelivery, nil
	case string(m.Subject) != p.inbox+token:
		return pullIgnore, nil
	}
	switch code, _ := protocol.HeaderStatus(m.Header); code {
	case 0, 100: // idle heartbeat
		return pullIgnore, nil
	case 404, 408, 409:
		p.setErr("")
		return pullOver, nil // batch over: pull again
	case 503:
		return pullIgnore, errors.New("no responders for the hub consumer (link down?)")
	default:
		return pullIgnore, errors.New("hub status " + strconv.Itoa(code))
	}
}

// storeGroup stores the deliveries of a group the local stream does not
// hold yet with one append, then acks every delivery upstream. A
// delivery for an earlier session's consumer is left alone.
func (p *Puller) storeGroup(st *stream, group []*protocol.Msg) error {
	p.gen++
	gen := strconv.FormatUint(p.gen, 10)
	var acks []string
	var batch []*protocol.Msg
	var seqs []uint64
	captures := st.cfg().Subjects
	for _, m := range group {
		sseq, consumer, ok := ackStreamSeq(string(m.Reply))
		if !ok {
			return errors.New("delivery without a JetStream ack subject: " + string(m.Reply))
		}
		if consumer != p.session {
			continue
		}
		acks = append(acks, string(m.Reply))
		if sseq <= p.highest {
			p.mu.Lock()
			p.skipped++
			p.mu.Unlock()
			continue
		}
		captured := false
		for _, f := range captures {
			captured = captured || protocol.MatchLiteral(m.Subject, f)
		}
		if !captured {
			return errors.New("the local stream " + p.cfg.Stream + " does not capture " + string(m.Subject))
		}
		hdr := protocol.AppendHeaderStart(nil, 0, "")
		protocol.HeaderFields(m.Header, func(name, value []byte) bool {
			if !asciiHasPrefixFold(name, "Nats-Expected-") && !asciiEqualFoldStr(name, "Nats-Msg-Id") {
				hdr = protocol.AppendHeaderField(hdr, string(name), string(value))
			}
			return true
		})
		hdr = protocol.AppendHeaderField(hdr, "Nats-Msg-Id", p.cfg.HubDomain+":"+p.cfg.HubStream+":"+strconv.FormatUint(sseq, 10))
		hdr = protocol.AppendHeaderField(hdr, "Nats-Expected-Stream", p.cfg.Stream)
		hdr = protocol.AppendHeaderEnd(hdr)
		reply := p.inbox + "local." + gen + "-" + strconv.Itoa(len(batch))
		batch = append(batch, &protocol.Msg{Subject: m.Subject, Reply: []byte(reply), Header: hdr, Data: m.Data})
		seqs = append(seqs, sseq)
	}
	if len(batch) > 0 {
		if err := p.storeLocal(st, batch, gen); err != nil {
			return err
		}
		for _, s := range seqs {
			p.highest = max(p.highest, s)
		}
		p.mu.Lock()
		p.stored += uint64(len(batch))
		p.mu.Unlock()
	}
	// Stored (or duplicates of what is stored): now the hub may let them go.
	for _, a := range acks {
		if err := p.js.bus.Publish(a, "", nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// storeLocal queues batch for the local stream in one piece, so its
// writer stores it with one append, and waits until every message of it
// is acknowledged. Straight into the local stream, not through the bus:
// the hub has interest in the subjects (its stream), and a copy must not
// go back.
func (p *Puller) storeLocal(st *stream, batch []*protocol.Msg, gen string) error {
	for len(p.local) > 0 {
		<-p.local // a late answer to an earlier try
	}
	if !st.in.pushAll(batch) {
		return errors.New("the local stream's ingest queue is full")
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	prefix := p.inbox + "local." + gen + "-"
	for answered := 0; answered < len(batch); {
		var r *protocol.Msg
		select {
		case <-p.quit:
			return errors.New("closed")
		case <-t.C:
			return errors.New("the local stream did not acknowledge within 10s")
		case r = <-p.local:
		}
		i, err := strconv.Atoi(strings.TrimPrefix(string(r.Subject), prefix))
		if err != nil || !strings.HasPrefix(string(r.Subject), prefix) || i < 0 || i >= len(batch) {
			continue // for an earlier group
		}
		answered++
		subject := string(batch[i].Subject)
		if code, _ := protocol.HeaderStatus(r.Header); code == 503 {
			return errors.New("no local stream stores " + subject)
		}
		var pa pubAck
		if err := json.Unmarshal(r.Data, &pa); err != nil {
			return errors.New("unreadable local PubAck: " + err.Error())
		}
		if pa.Error != nil {
			return errors.New("the local stream refused " + subject + ": " + pa.Error.Description)
		}
	}
	return nil
}

// Status describes the pull for monitoring.
func (p *Puller) Status() PullStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PullStatus{Stream: p.cfg.Stream, HubStream: p.cfg.HubStream, Consumer: p.cfg.Consumer, State: p.state,
		Stored: p.stored, Redelivered: p.skipped, LastError: p.lastErr}
}

// ackStreamSeq reads the stream sequence from a v1 ack subject
// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>.
func ackStreamSeq(ack string) (uint64, string, bool) {
	toks := strings.Split(ack, ".")
	switch {
	case len(toks) == 9 && toks[0] == "$JS" && toks[1] == "ACK":
		n, err := strconv.ParseUint(toks[5], 10, 64)
		return n, toks[3], err == nil
	case len(toks) >= 11 && toks[0] == "$JS" && toks[1] == "ACK":
		n, err := strconv.ParseUint(toks[7], 10, 64)
		return n, toks[5], err == nil
	}
	return 0, "", false
}
