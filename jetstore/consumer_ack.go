package jetstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/wrenmq/wren/protocol"
)

// ackPrefix is where acks arrive: $JS.ACK.<stream>.<consumer>.<delivered>.
// <stream seq>.<consumer seq>.<timestamp>.<pending> (the v1 form, 9 tokens).
const ackPrefix = "$JS.ACK."

// fcPrefix is where push clients answer flow control requests:
// $JS.FC.<stream>.<consumer>.<id>.
const fcPrefix = "$JS.FC."

// ackKind is what an ack body asks for.
type ackKind uint8

const (
	ackAck      ackKind = iota // "", +ACK, +OK
	ackNak                     // -NAK [delay]
	ackProgress                // +WPI
	ackTerm                    // +TERM [reason]
	ackNext                    // +NXT [request]
)

// ackReq is one parsed ack, owned by the consumer's inbox.
type ackReq struct {
	kind       ackKind
	sseq, cseq uint64
	deliveries uint64
	delay      time.Duration // -NAK with a delay
	reason     string        // +TERM reason
	batch      int           // +NXT batch
	reply      string        // set when the client waits for a confirmation
}

// parseAckSubject reads the stream, consumer and sequences of a v1 ack
// subject, in one pass. The names it returns are views of subject.
func parseAckSubject(subject string) (stream, consumer string, deliveries, sseq, cseq uint64, ok bool) {
	rest, found := strings.CutPrefix(subject, ackPrefix)
	if !found {
		return "", "", 0, 0, 0, false
	}
	// Tokens: stream, consumer, delivered, stream seq, consumer seq,
	// timestamp, pending.
	var names [2]string
	var n [3]uint64
	tok, start := 0, 0
	for i := 0; i <= len(rest); i++ {
		if i < len(rest) && rest[i] != '.' {
			continue
		}
		t := rest[start:i]
		start = i + 1
		switch {
		case tok >= 7:
			return "", "", 0, 0, 0, false
		case tok < 2:
			if t == "" {
				return "", "", 0, 0, 0, false
			}
			names[tok] = t
		case tok < 5:
			v, ok := parseUintString(t)
			if !ok {
				return "", "", 0, 0, 0, false
			}
			n[tok-2] = v
		}
		tok++
	}
	if tok != 7 || n[1] == 0 {
		return "", "", 0, 0, 0, false
	}
	return names[0], names[1], n[0], n[1], n[2], true
}

// parseUintString is parseUint for a string.
func parseUintString(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseAckBody reads an ack body into a.
func parseAckBody(body []byte, a *ackReq) bool {
	body = bytes.TrimSpace(body)
	verb, arg, _ := bytes.Cut(body, []byte{' '})
	arg = bytes.TrimSpace(arg)
	switch string(verb) {
	case "", "+ACK", "+OK":
		a.kind = ackAck
	case "-NAK":
		a.kind = ackNak
		if len(arg) > 0 {
			if arg[0] == '{' {
				var d struct {
					Delay time.Duration `json:"delay"`
				}
				if json.Unmarshal(arg, &d) == nil && d.Delay > 0 {
					a.delay = d.Delay
				}
			} else if d, err := time.ParseDuration(string(arg)); err == nil && d > 0 {
				a.delay = d
			}
		}
	case "+WPI":
		a.kind = ackProgress
	case "+TERM":
		a.kind = ackTerm
		a.reason = string(arg)
	case "+NXT":
		a.kind = ackNext
		a.batch = 1
		if len(arg) > 0 {
			if arg[0] == '{' {
				var r struct {
					Batch int `json:"batch"`
				}
				if json.Unmarshal(arg, &r) == nil && r.Batch > 0 {
					a.batch = r.Batch
				}
			} else if n, err := strconv.Atoi(string(arg)); err == nil && n > 0 {
				a.batch = n
			}
		}
	default:
		return false
	}
	return true
}

// onAck runs on the publisher's goroutine: it parses the ack and leaves it
// in the consumer's inbox.
func (js *JetStream) onAck(m *protocol.Msg) {
	// A view, not a copy: the names are only looked up.
	subject := unsafe.String(unsafe.SliceData(m.Subject), len(m.Subject))
	stream, name, deliveries, sseq, cseq, ok := parseAckSubject(subject)
	if !ok {
		return
	}
	a := ackReq{sseq: sseq, cseq: cseq, deliveries: deliveries}
	if !parseAckBody(m.Data, &a) {
		return
	}
	if len(m.Reply) > 0 {
		a.reply = string(m.Reply)
	}
	st := js.lookup(stream)
	if st == nil {
		return
	}
	c := st.consumer(name)
	if c == nil {
		return
	}
	c.in.addAck(a, !c.deferToReadEnd(m.Sender))
}

// onFlowControl runs on the publisher's goroutine: a push client answered
// a flow control request.
func (js *JetStream) onFlowControl(m *protocol.Msg) {
	rest := strings.TrimPrefix(string(m.Subject), fcPrefix)
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return
	}
	st := js.lookup(parts[0])
	if st == nil {
		return
	}
	if c := st.consumer(parts[1]); c != nil {
		c.in.addFC(string(m.Subject))
	}
}

// processAck applies one ack. mu is held.
func (c *consumer) processAck(a *ackReq, now time.Time) {
	if a.reply != "" && a.kind != ackNext && a.kind != ackProgress {
		c.syncReplies = append(c.syncReplies, a.reply)
	}
	policy := c.cfg.AckPolicy
	if policy == AckNone {
		return
	}
	p := c.pending[a.sseq]
	switch a.kind {
	case ackAck, ackNext:
		c.lastAcked = now
		if policy == AckAll {
			c.ackAllUpTo(a.sseq)
		} else if p != nil {
			c.acked(a.sseq)
		}
		if a.kind == ackNext && a.reply != "" && !systemSubject(a.reply) {
			c.addRequest(&pullRequest{reply: a.reply, batch: a.batch}, now)
		}
	case ackNak:
		if p == nil {
			return
		}
		c.naked = append(c.naked, deadLetter{seq: a.sseq, cseq: p.cseq, deliveries: p.deliveries, reason: reasonNaked})
		delay := a.delay
		if delay == 0 && len(c.cfg.BackOff) > 0 {
			delay = c.cfg.ackWaitFor(p.deliveries)
		}
		if delay > 0 {
			if md := c.cfg.MaxDeliver; md > 0 && p.deliveries >= uint64(md) {
				c.giveUp(a.sseq, p, reasonMaxDeliveries, "")
				return
			}
			if !p.queued {
				c.setDeadline(a.sseq, p, deadlineAt(now, delay))
			}
			return
		}
		if !p.queued {
			c.redeliverLater(a.sseq, p, "nak")
		}
	case ackProgress:
		if p != nil && !p.queued {
			c.setDeadline(a.sseq, p, deadlineAt(now, c.cfg.ackWaitFor(p.deliveries)))
		}
		if a.reply != "" {
			c.syncReplies = append(c.syncReplies, a.reply)
		}
	case ackTerm:
		if p != nil {
			c.giveUp(a.sseq, p, reasonTerminated, a.reason)
		}
	}
}

// ackAllUpTo acks every pending message at or below seq (ack policy all).
// mu is held.
func (c *consumer) ackAllUpTo(seq uint64) {
	if c.log != nil {
		c.log.ackAll(seq)
	}
	for s := range c.pending {
		if s <= seq {
			delete(c.pending, s)
			c.finished(s)
		}
	}
}
