package server

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Message tracing as nats-server 2.11+ has it. A message published with a
// Nats-Trace-Dest header makes the server send that subject one event
// (the JSON nats trace reads) listing what it did: the ingress, each
// egress to a client, an in-process service or a leaf link (with the
// Nats-Trace-Hop id the link's side reports under), and a stream's
// storage. With Nats-Trace-Only set to 1, true or on, the message is
// traced but neither delivered nor stored. A message a leaf link brings
// in with these headers is traced here too, under the hop it carries.
// With Options.TraceDest set, a message with a sampled W3C traceparent
// header and no Nats-Trace-Dest is traced to it as well (Options.
// TraceSampling percent of them).

// Trace headers.
const (
	hdrTraceDest   = "Nats-Trace-Dest"
	hdrTraceOnly   = "Nats-Trace-Only"
	hdrTraceHop    = "Nats-Trace-Hop"
	hdrTraceParent = "traceparent"
	// traceDisabled is what Nats-Trace-Dest is set to on a copy that must
	// not be traced again (a stored message): not a valid subject.
	traceDisabled = "trace disabled"
)

// Connection kinds in trace events, as nats-server numbers them.
const (
	traceKindClient = 0
	traceKindSystem = 3
	traceKindLeaf   = 4
)

// msgTrace is one traced message's event in the making.
type msgTrace struct {
	srv  *Server
	dest string
	only bool
	hop  string // the hop id the message arrived with
	// holds counts who must finish before the event is sent: the
	// publisher, and each in-process subscriber that called Hold.
	holds atomic.Int32

	mu    sync.Mutex
	event traceEvent
	nhop  int
	// taken counts the in-process subscribers that took the message
	// over (JetStream or Hold), so the rest are listed as egresses.
	taken int
}

type traceEvent struct {
	Server  *sysServerInfo `json:"server"`
	Request traceRequest   `json:"request"`
	Hops    int            `json:"hops,omitempty"`
	Events  []any          `json:"events"`
}

type traceRequest struct {
	Header  map[string][]string `json:"header,omitempty"`
	MsgSize int                 `json:"msgsize,omitempty"`
}

type traceBase struct {
	Type string    `json:"type"`
	TS   time.Time `json:"ts"`
}

type traceIngress struct {
	traceBase
	Kind    int    `json:"kind"`
	CID     uint64 `json:"cid"`
	Name    string `json:"name,omitempty"`
	Account string `json:"acc"`
	Subject string `json:"subj"`
	Error   string `json:"error,omitempty"`
}

type traceEgress struct {
	traceBase
	Kind    int    `json:"kind"`
	CID     uint64 `json:"cid"`
	Name    string `json:"name,omitempty"`
	Hop     string `json:"hop,omitempty"`
	Account string `json:"acc,omitempty"`
	Sub     string `json:"sub,omitempty"`
	Queue   string `json:"queue,omitempty"`
	Error   string `json:"error,omitempty"`
}

type traceJetStream struct {
	traceBase
	Stream     string `json:"stream"`
	Subject    string `json:"subject,omitempty"`
	NoInterest bool   `json:"nointerest,omitempty"`
	Error      string `json:"error,omitempty"`
}

// mayTrace reports cheaply whether header could ask for a trace.
func (s *Server) mayTrace(header []byte) bool {
	if len(header) == 0 {
		return false
	}
	if bytes.Contains(header, []byte(hdrTraceDest)) {
		return true
	}
	return s.opts.TraceDest != "" && containsFold(header, hdrTraceParent)
}

func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToLower(b), []byte(s))
}

// startTrace reads the trace headers of a message c publishes. It returns
// the trace (nil when the message is not traced) and whether the message
// must go no further: trace-only with an unusable destination, or a
// destination c may not publish to.
func (c *client) startTrace(subject, header []byte, size int) (*msgTrace, bool) {
	s := c.srv
	hdrs := map[string][]string{}
	var dest, only, hop string
	var sampled, disabled bool
	protocol.HeaderFields(header, func(k, v []byte) bool {
		if len(v) == 0 {
			return true
		}
		name, val := string(k), string(v)
		hdrs[name] = append(hdrs[name], val)
		switch {
		case name == hdrTraceDest && dest == "":
			dest = val
			disabled = val == traceDisabled
		case name == hdrTraceOnly && only == "":
			only = val
		case name == hdrTraceHop && hop == "":
			hop = val
		case strings.EqualFold(name, hdrTraceParent):
			sampled = sampled || traceParentSampled(val)
		}
		return true
	})
	if disabled {
		return nil, false
	}
	traceOnly := false
	if dest != "" {
		switch strings.ToLower(only) {
		case "1", "true", "on":
			traceOnly = true
		}
	} else {
		if !sampled || s.opts.TraceDest == "" || !s.sampleTrace() {
			return nil, false
		}
		dest = s.opts.TraceDest
	}
	if !protocol.ValidLiteral(dest) {
		s.log.Debug("trace destination is not a valid subject; not tracing", "cid", c.cid, "dest", dest)
		return nil, traceOnly
	}
	if !c.permitPub([]byte(dest)) {
		return nil, true
	}
	t := &msgTrace{srv: s, dest: dest, only: traceOnly}
	if c.kind == kindLeaf {
		t.hop = hop
	}
	t.holds.Store(1)
	kind, name := traceKindClient, c.opts.Name
	if c.kind == kindLeaf {
		kind, name = traceKindLeaf, c.leafName()
	}
	t.event = traceEvent{
		Request: traceRequest{Header: hdrs, MsgSize: size},
		Events: []any{&traceIngress{
			traceBase: traceBase{"in", time.Now().UTC()},
			Kind:      kind, CID: c.cid, Name: name, Account: c.account(), Subject: string(subject),
		}},
	}
	return t, false
}

// traceParentSampled reports whether a W3C traceparent value
// (version-traceid-parentid-flags) has its sampled flag set.
func traceParentSampled(v string) bool {
	parts := strings.Split(v, "-")
	if len(parts) != 4 || len(parts[3]) != 2 {
		return false
	}
	f, err := strconv.ParseUint(parts[3], 16, 8)
	return err == nil && f&1 == 1
}

var traceCounter atomic.Uint64

// sampleTrace picks Options.TraceSampling percent of traceparent
// messages, spread evenly (every n-th), so the choice is repeatable.
func (s *Server) sampleTrace() bool {
	p := s.opts.TraceSampling
	if p <= 0 || p >= 100 {
		return true
	}
	n := traceCounter.Add(1)
	return (n*uint64(p))%100 < uint64(p)
}

// tracedPublish publishes a message whose headers ask for a trace.
func (p *producer) tracedPublish(subject, reply, header, payload []byte) {
	c := p.c
	t, stop := c.startTrace(subject, header, len(header)+len(payload))
	if t == nil {
		if !stop {
			p.publish(subject, reply, header, payload)
		}
		return
	}
	p.trace = t
	p.publish(subject, reply, header, payload)
	p.trace = nil
	t.Done()
}

// SubscribeTraced is Subscribe for a subscriber that takes part in
// message tracing: it reads Msg.Trace, reports what it does (a stream
// records its storage) and, for a trace-only message, only reports. Other
// in-process subscribers are not handed trace-only messages at all (they
// would act on them); they are listed as egresses.
func (ip *InProc) SubscribeTraced(subject, queue string, h func(m *protocol.Msg)) (unsubscribe func(), err error) {
	return ip.subscribe(subject, queue, h, true)
}

// traceDeliver records the delivery of a traced message to sub and, for
// an in-process subscriber, hands it over with the trace. It reports
// whether the delivery is done (in-process, or not delivered because the
// trace is trace-only); otherwise deliver queues it as usual.
func (p *producer) traceDeliver(sub *subscription, subject, reply, header, payload []byte) bool {
	t := p.trace
	sc := sub.client
	if sub.handler != nil {
		if t.only && !sub.traced {
			t.add(&traceEgress{traceBase: traceBase{"eg", time.Now().UTC()}, Kind: traceKindSystem, CID: sc.cid, Name: sc.opts.Name, Sub: sub.subject, Queue: sub.queue})
			return true
		}
		if p.shown != nil {
			subject = p.shown
		}
		seen := t.takers()
		p.msg = protocol.Msg{Subject: subject, Reply: reply, Header: header, Data: payload, Sender: p.sender(), Trace: t}
		sub.handler(&p.msg)
		p.msg = protocol.Msg{}
		if t.takers() == seen {
			// Not a stream: an in-process service took it.
			t.add(&traceEgress{traceBase: traceBase{"eg", time.Now().UTC()}, Kind: traceKindSystem, CID: sc.cid, Name: sc.opts.Name, Sub: sub.subject, Queue: sub.queue})
		}
		if !t.only {
			p.outMsgs++
			p.outBytes += int64(len(header) + len(payload))
		}
		return true
	}
	e := &traceEgress{traceBase: traceBase{"eg", time.Now().UTC()}, Kind: traceKindClient, CID: sc.cid, Sub: sub.subject, Queue: sub.queue}
	sc.mu.Lock()
	e.Name = sc.opts.Name
	if sc.closed {
		e.Error = "Not delivered because client is closed"
	}
	sc.mu.Unlock()
	if acc := sc.account(); acc != p.c.account() {
		e.Account = acc
	}
	t.add(e)
	return t.only
}

// traceLeaves records the egress of a traced message to each leaf link
// it is about to be sent to, and returns the header to send: the same,
// with Nats-Trace-Hop naming the hop, so the hub's event can be linked to
// this one.
func (p *producer) traceLeaves(header []byte) []byte {
	t := p.trace
	var hop string
	for i := range p.lt {
		sc := p.lt[i].c
		hop = t.nextHop()
		t.add(&traceEgress{traceBase: traceBase{"eg", time.Now().UTC()}, Kind: traceKindLeaf, CID: sc.cid, Name: sc.leafName(), Hop: hop})
	}
	if hop == "" {
		return header
	}
	return setHeader(header, hdrTraceHop, hop)
}

// leafName is the hub's name on a leaf link, for trace events.
func (c *client) leafName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.Name
}

func (t *msgTrace) add(e any) {
	t.mu.Lock()
	t.event.Events = append(t.event.Events, e)
	t.mu.Unlock()
}

func (t *msgTrace) takers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.taken
}

func (t *msgTrace) nextHop() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nhop++
	t.event.Hops = t.nhop
	if t.hop != "" {
		return t.hop + "." + strconv.Itoa(t.nhop)
	}
	return strconv.Itoa(t.nhop)
}

// Only implements protocol.Tracer.
func (t *msgTrace) Only() bool { return t.only }

// JetStream implements protocol.Tracer.
func (t *msgTrace) JetStream(stream, subject string, noInterest bool, err string) {
	t.mu.Lock()
	t.taken++
	t.event.Events = append(t.event.Events, &traceJetStream{
		traceBase: traceBase{"js", time.Now().UTC()}, Stream: stream, Subject: subject, NoInterest: noInterest, Error: err,
	})
	t.mu.Unlock()
}

// Hold implements protocol.Tracer.
func (t *msgTrace) Hold() {
	t.holds.Add(1)
	t.mu.Lock()
	t.taken++
	t.mu.Unlock()
}

// Done implements protocol.Tracer: the last one sends the event.
func (t *msgTrace) Done() {
	if t.holds.Add(-1) != 0 {
		return
	}
	s := t.srv
	t.mu.Lock()
	t.event.Server = s.sysInfo()
	b, err := json.Marshal(&t.event)
	t.mu.Unlock()
	if err != nil {
		s.log.Error("encode trace event", "error", err)
		return
	}
	if err := s.internal().Publish(t.dest, "", nil, b); err != nil {
		s.log.Debug("send trace event", "dest", t.dest, "error", err)
	}
}

// internal returns the in-process connection the server publishes its
// own messages with (trace events), opened on first use.
func (s *Server) internal() *InProc {
	if s.sys != nil {
		return s.sys.ip
	}
	s.internalOnce.Do(func() { s.internalIP = s.InProc("internal") })
	return s.internalIP
}

// setHeader returns header with the field name set to value: replaced
// where it is, or added at the end.
func setHeader(header []byte, name, value string) []byte {
	out := protocol.AppendHeaderStart(nil, 0, "")
	if i := bytes.Index(header, []byte("\r\n")); i >= 0 && bytes.HasPrefix(header, []byte("NATS/1.0")) {
		out = append(out[:0], header[:i+2]...) // keep the status line
	}
	set := false
	protocol.HeaderFields(header, func(k, v []byte) bool {
		if string(k) == name {
			if !set {
				out = protocol.AppendHeaderField(out, name, value)
				set = true
			}
			return true
		}
		out = protocol.AppendHeaderField(out, string(k), string(v))
		return true
	})
	if !set {
		out = protocol.AppendHeaderField(out, name, value)
	}
	return protocol.AppendHeaderEnd(out)
}
