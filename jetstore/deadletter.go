package jetstore

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// A consumer gives up on a message when it was terminated (+TERM) or its
// last allowed delivery (max_deliver) went unacked. It then publishes the
// matching advisory and, when the stream names a dead-letter stream
// (StreamConfig.DeadLetter), stores a copy there. The copy keeps the
// original subject, payload and headers (but the Nats-* publish controls,
// which would make the dead-letter stream deduplicate or refuse it), plus
// the Wren-DLQ-* headers below. On a work-queue stream the message is
// removed once the copy is stored (or at once when terminated with no
// dead-letter stream); on an interest stream the same makes the consumer
// done with it, and it is removed once no other consumer holds it. A
// message out of deliveries with no copy stored stays, for inspection.
//
// A replay ($WREN.API.DLQ.REPLAY.<dead-letter stream>, or `wren replay`)
// publishes dead letters back onto their original subjects, so the stream
// that captures them stores them again, and removes each from the
// dead-letter stream once that stream confirmed it.
const (
	hdrDLQStream     = "Wren-DLQ-Stream"
	hdrDLQSequence   = "Wren-DLQ-Sequence"
	hdrDLQSubject    = "Wren-DLQ-Subject"
	hdrDLQConsumer   = "Wren-DLQ-Consumer"
	hdrDLQDeliveries = "Wren-DLQ-Deliveries"
	hdrDLQReason     = "Wren-DLQ-Reason"
	hdrDLQTime       = "Wren-DLQ-Time"
	hdrDLQMsgID      = "Wren-DLQ-Msg-Id"
	hdrDLQReplayed   = "Wren-DLQ-Replayed-From"

	reasonMaxDeliveries = "max_deliveries"
	reasonTerminated    = "terminated"
	reasonNaked         = "naked" // not a dead letter: only advised

	advisoryPrefix  = "$JS.EVENT.ADVISORY.CONSUMER."
	typeMaxDeliver  = "io.nats.jetstream.advisory.v1.max_deliver"
	typeTerminated  = "io.nats.jetstream.advisory.v1.terminated"
	typeNaked       = "io.nats.jetstream.advisory.v1.nak"
	replayAPIPrefix = "$WREN.API.DLQ.REPLAY."
)

// deadLetter is a message a consumer gave up on.
type deadLetter struct {
	seq, cseq, deliveries uint64
	reason                string
	detail                string // the +TERM reason
}

type deliveryAdvisory struct {
	Type       string    `json:"type"`
	ID         string    `json:"id"`
	Time       time.Time `json:"timestamp"`
	Stream     string    `json:"stream"`
	Consumer   string    `json:"consumer"`
	ConsumerSq uint64    `json:"consumer_seq,omitempty"`
	StreamSeq  uint64    `json:"stream_seq"`
	Deliveries uint64    `json:"deliveries"`
	Reason     string    `json:"reason,omitempty"`
}

func newID() string {
	var b [11]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// handleDeadLetters publishes the advisories and stores the dead-letter
// copies. It runs on the consumer's goroutine without mu.
func (c *consumer) handleDeadLetters(dead []deadLetter) {
	scfg := c.st.cfg()
	var dlq *stream
	if scfg.DeadLetter != "" {
		if dlq = c.js.lookup(scfg.DeadLetter); dlq == nil {
			c.js.log.Warn("dead-letter stream not found", "stream", c.st.name, "dead_letter_stream", scfg.DeadLetter)
		}
	}
	var remove []uint64
	c.deadLetters.Add(uint64(len(dead)))
	for _, d := range dead {
		c.publishAdvisory(d)
		stored := false
		if dlq != nil {
			stored = c.storeDeadLetter(dlq, d)
		}
		if scfg.Retention != RetentionLimits && (stored || (dlq == nil && scfg.DeadLetter == "" && d.reason == reasonTerminated)) {
			remove = append(remove, d.seq)
		}
	}
	if len(remove) > 0 {
		if scfg.Retention == RetentionInterest {
			c.release(remove)
		}
		c.st.queueRemoval(remove)
	}
}

func (c *consumer) publishAdvisory(d deadLetter) {
	a := deliveryAdvisory{
		ID: newID(), Time: time.Now().UTC(), Stream: c.st.name, Consumer: c.name,
		StreamSeq: d.seq, Deliveries: d.deliveries,
	}
	subject := advisoryPrefix
	switch d.reason {
	case reasonTerminated:
		a.Type, a.ConsumerSq, a.Reason = typeTerminated, d.cseq, d.detail
		subject += "MSG_TERMINATED."
	case reasonNaked:
		a.Type, a.ConsumerSq = typeNaked, d.cseq
		subject += "MSG_NAKED."
	default:
		a.Type = typeMaxDeliver
		subject += "MAX_DELIVERIES."
	}
	b, err := json.Marshal(&a)
	if err != nil {
		return
	}
	c.js.bus.Publish(subject+c.st.name+"."+c.name, "", nil, b)
}

// storeDeadLetter copies the message into the dead-letter stream and
// reports whether it is stored there.
func (c *consumer) storeDeadLetter(dlq *stream, d deadLetter) bool {
	m, err := c.st.store.Load(d.seq)
	if err != nil {
		return false // gone from the stream already
	}
	reason := d.reason
	if d.detail != "" {
		reason += ": " + d.detail
	}
	h := protocol.AppendHeaderStart(nil, 0, "")
	protocol.HeaderFields(m.Header, func(k, v []byte) bool {
		switch {
		case len(k) == len(hdrMsgID) && asciiHasPrefixFold(k, hdrMsgID):
			h = protocol.AppendHeaderField(h, hdrDLQMsgID, string(v))
		case asciiHasPrefixFold(k, "Nats-"), asciiHasPrefixFold(k, "Wren-DLQ-"):
		default:
			h = protocol.AppendHeaderField(h, string(k), string(v))
		}
		return true
	})
	h = protocol.AppendHeaderField(h, hdrDLQStream, c.st.name)
	h = protocol.AppendHeaderField(h, hdrDLQSequence, strconv.FormatUint(d.seq, 10))
	h = protocol.AppendHeaderField(h, hdrDLQSubject, m.Subject)
	h = protocol.AppendHeaderField(h, hdrDLQConsumer, c.name)
	h = protocol.AppendHeaderField(h, hdrDLQDeliveries, strconv.FormatUint(d.deliveries, 10))
	h = protocol.AppendHeaderField(h, hdrDLQReason, reason)
	h = protocol.AppendHeaderField(h, hdrDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	// One id per stream message and consumer: dead-lettering it again
	// after a crash is a duplicate the dead-letter stream drops.
	id := "wren-dlq." + c.st.name + "." + c.name + "." + strconv.FormatUint(d.seq, 10)
	h = protocol.AppendHeaderField(h, hdrMsgID, id)
	h = protocol.AppendHeaderEnd(h)
	msg := &protocol.Msg{Subject: []byte(m.Subject), Header: h, Data: m.Data}
	stored := false
	ok := dlq.do(func() {
		dlq.mu.RLock()
		_, dup := dlq.dedup.get([]byte(id), time.Now().Add(-dlq.config.Duplicates).UnixNano())
		dlq.mu.RUnlock()
		if dup {
			stored = true
			return
		}
		before := dlq.store.State().LastSeq
		dlq.storeBatch([]*protocol.Msg{msg})
		stored = dlq.store.State().LastSeq > before
	})
	if !ok || !stored {
		c.js.log.Error("store dead letter", "stream", c.st.name, "consumer", c.name, "seq", d.seq, "dead_letter_stream", dlq.name)
		return false
	}
	return true
}

func asciiHasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// replayRequest is the body of $WREN.API.DLQ.REPLAY.<stream>: one
// sequence, a list, or all; keep leaves the dead letters in place.
type replayRequest struct {
	Seq  uint64   `json:"seq,omitempty"`
	Seqs []uint64 `json:"seqs,omitempty"`
	All  bool     `json:"all,omitempty"`
	Keep bool     `json:"keep,omitempty"`
}

// ReplayResponse answers a replay request.
type ReplayResponse struct {
	Type     string         `json:"type,omitempty"`
	Error    *APIError      `json:"error,omitempty"`
	Replayed int            `json:"replayed"`
	Failed   []ReplayFailed `json:"failed,omitempty"`
}

// ReplayFailed is a dead letter that could not be replayed.
type ReplayFailed struct {
	Seq   uint64 `json:"seq"`
	Error string `json:"error"`
}

const typeReplay = "io.wren.api.v1.dlq_replay_response"

// replayTimeout is how long a replay waits for a stream to confirm one
// batch of re-published messages.
const replayTimeout = 10 * time.Second

// replayBatch is how many messages a replay has in flight at once.
const replayBatch = 256

// onReplay runs on the publisher's goroutine: it hands the request to the
// replay goroutine.
func (js *JetStream) onReplay(m *protocol.Msg) {
	if len(m.Reply) == 0 {
		return
	}
	select {
	case js.replayQ <- m.Clone():
	default:
		js.respond(string(m.Reply), &ReplayResponse{Type: typeReplay, Error: errReplayRunning()})
	}
}

// replayLoop serves replay requests one at a time.
func (js *JetStream) replayLoop() {
	defer js.wg.Done()
	for {
		select {
		case <-js.quit:
			return
		case m := <-js.replayQ:
			js.serveReplay(m)
		}
	}
}

// serveReplay answers one replay request; a panic is answered with an
// error and logged, and the loop goes on.
func (js *JetStream) serveReplay(m *protocol.Msg) {
	name := strings.TrimPrefix(string(m.Subject), replayAPIPrefix)
	defer func() {
		if r := recover(); r != nil {
			js.log.Error("replay request failed", "stream", name, "panic", r, "stack", string(debug.Stack()))
			js.respond(string(m.Reply), &ReplayResponse{Type: typeReplay, Error: errInternal()})
		}
	}()
	js.respond(string(m.Reply), js.replayFor(name, m.Data, m.Sender))
}

// replayFor re-publishes dead letters of the named stream for sender (nil
// when the server itself asks): only a stream that another names as its
// dead-letter stream is replayed, only the messages the server stored
// there as dead letters (their Wren-DLQ-* fields, which clients cannot
// set), and only to subjects sender may publish to. Unless keep is set,
// each replayed dead letter is deleted, which a deny_delete stream refuses.
func (js *JetStream) replayFor(name string, data []byte, sender protocol.Sender) *ReplayResponse {
	resp := &ReplayResponse{Type: typeReplay}
	var req replayRequest
	if e := decode(data, &req); e != nil {
		resp.Error = e
		return resp
	}
	dst := js.lookup(name)
	if dst == nil {
		resp.Error = errStreamNotFound()
		return resp
	}
	if !js.isDeadLetterStream(name) {
		resp.Error = errBadRequest("stream " + name + " is not a dead-letter stream (no stream names it as dead_letter_stream)")
		return resp
	}
	if dst.cfg().DenyDelete && !req.Keep {
		resp.Error = errReplayDeleteDenied()
		return resp
	}
	var seqs []uint64
	switch {
	case req.All:
		state := dst.store.State()
		dst.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
			if m.Seq > state.LastSeq {
				return false
			}
			seqs = append(seqs, m.Seq)
			return true
		})
	case req.Seq > 0:
		seqs = []uint64{req.Seq}
	case len(req.Seqs) > 0:
		seqs = slices.Compact(slices.Sorted(slices.Values(req.Seqs))) // each dead letter once
	default:
		resp.Error = errBadRequest("give seq, seqs or all")
		return resp
	}
	for start := 0; start < len(seqs); start += replayBatch {
		end := min(start+replayBatch, len(seqs))
		done := js.replayOnce(dst, seqs[start:end], resp, sender)
		if len(done) > 0 && !req.Keep {
			dst.do(func() { dst.deleteSeqs(done) })
		}
		resp.Replayed += len(done)
	}
	return resp
}

// replayOnce publishes one batch of dead letters and waits for their
// PubAcks. It returns the sequences the streams confirmed.
func (js *JetStream) replayOnce(dst *stream, seqs []uint64, resp *ReplayResponse, sender protocol.Sender) []uint64 {
	inbox := "$WREN.REPLAY." + newID() + "."
	type ack struct {
		i   int
		err string
	}
	acks := make(chan ack, len(seqs))
	unsub, err := js.bus.Subscribe(inbox+"*", "", func(m *protocol.Msg) {
		i, err := strconv.Atoi(strings.TrimPrefix(string(m.Subject), inbox))
		if err != nil {
			return
		}
		var pa PubAck
		var e string
		if code, desc := protocol.HeaderStatus(m.Header); code >= 400 {
			e = desc
			if code == protocol.StatusNoResponders {
				e = "no stream captures the subject"
			}
		} else if json.Unmarshal(m.Data, &pa) != nil {
			e = "bad PubAck"
		} else if pa.Error != nil {
			e = pa.Error.Description
		}
		select {
		case acks <- ack{i, e}:
		default:
		}
	})
	if err != nil {
		for _, s := range seqs {
			resp.Failed = append(resp.Failed, ReplayFailed{Seq: s, Error: err.Error()})
		}
		return nil
	}
	defer unsub()
	sent := 0
	status := make([]string, len(seqs))
	for i, seq := range seqs {
		m, err := dst.store.Load(seq)
		if err != nil {
			status[i] = "no such dead letter"
			continue
		}
		subj := string(protocol.HeaderGet(m.Header, hdrDLQSubject))
		if subj == "" || len(protocol.HeaderGet(m.Header, hdrDLQStream)) == 0 {
			status[i] = "not a dead letter the server stored"
			continue
		}
		if !protocol.ValidLiteral(subj) || systemSubject(subj) {
			status[i] = "not a subject a dead letter may be replayed to: " + subj
			continue
		}
		if sender != nil && !sender.MayPublish(subj) {
			status[i] = "permissions violation for publish to " + strconv.Quote(subj)
			continue
		}
		if !js.bus.HasInterest(subj) {
			status[i] = "no stream captures the subject" // no PubAck would come
			continue
		}
		h := protocol.AppendHeaderStart(nil, 0, "")
		protocol.HeaderFields(m.Header, func(k, v []byte) bool {
			// The copy's own Nats-Msg-Id must not follow it back: the
			// original stream would take a second replay for a duplicate.
			if !asciiHasPrefixFold(k, "Wren-DLQ-") && !asciiHasPrefixFold(k, "Nats-") {
				h = protocol.AppendHeaderField(h, string(k), string(v))
			}
			return true
		})
		h = protocol.AppendHeaderField(h, hdrDLQReplayed, dst.name+":"+strconv.FormatUint(seq, 10))
		h = protocol.AppendHeaderEnd(h)
		if err := js.bus.Publish(subj, inbox+strconv.Itoa(i), h, m.Data); err != nil {
			status[i] = err.Error()
			continue
		}
		status[i] = "pending"
		sent++
	}
	timeout := time.NewTimer(replayTimeout)
	defer timeout.Stop()
wait:
	for sent > 0 {
		select {
		case a := <-acks:
			if a.i >= 0 && a.i < len(status) && status[a.i] == "pending" {
				status[a.i] = a.err
				sent--
			}
		case <-timeout.C:
			break wait
		case <-js.quit:
			break wait
		}
	}
	var done []uint64
	for i, s := range status {
		switch s {
		case "":
			done = append(done, seqs[i])
		case "pending":
			resp.Failed = append(resp.Failed, ReplayFailed{Seq: seqs[i], Error: "no stream confirmed the message"})
		default:
			resp.Failed = append(resp.Failed, ReplayFailed{Seq: seqs[i], Error: s})
		}
	}
	return done
}

// isDeadLetterStream reports whether a stream names name as its
// dead-letter stream.
func (js *JetStream) isDeadLetterStream(name string) bool {
	for _, st := range js.sortedStreams() {
		if st.cfg().DeadLetter == name {
			return true
		}
	}
	return false
}
