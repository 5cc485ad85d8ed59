package jetstore

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// walkToken starts the reply token of the forward's questions to the hub
// stream ("w<n>"), telling them from PubAcks ("<seq>").
const walkToken = 'w'

// fwdWalk is the reading back of what the hub holds past the cursor: the
// hub stream's messages under Upstream from the hub sequence kept with the
// cursor, one STREAM.MSG.GET (next_by_subj) each, until the hub has no
// more. Their Nats-Msg-Id say which local sequences the hub holds.
type fwdWalk struct {
	gen     uint64    // number of the question out (or last out)
	out     bool      // a question is out
	at      time.Time // when it went out
	last    bool      // it asks for the last message (no hub sequence kept)
	from    uint64    // hub sequence to read from; 0 before the walk starts
	found   int       // messages of ours past the cursor found so far
	foreign bool      // a message under Upstream not from this forward was found
}

// msgGetReply is the hub's answer to STREAM.MSG.GET.
type msgGetReply struct {
	Message *struct {
		Subject string `json:"subject"`
		Seq     uint64 `json:"seq"`
		Hdrs    []byte `json:"hdrs"`
	} `json:"message"`
	Error *apiError `json:"error"`
}

// syncStep reads the hub back: it asks the next question, or gives up on
// one unanswered for AckWait.
func (f *Forwarder) syncStep(now time.Time) {
	if !f.walk.out {
		f.askHub(now)
		f.setState("reading back what the hub holds")
		return
	}
	if now.Sub(f.walk.at) > f.cfg.AckWait {
		f.walk.out = false
		f.setErr("hub stream %s did not answer within %v (link down?)", f.cfg.HubStream, f.cfg.AckWait)
		f.retryLater(now)
	}
}

// askHub sends the walk's next question. With no hub sequence known (a
// first start, a cursor kept by an older version) it asks for the hub's
// last message under Upstream instead: when that is ours, everything of
// ours up to it is taken as held (the one case where a message lost
// behind it could be skipped; the cursor file keeps the hub sequence
// from the first acknowledged message on).
func (f *Forwarder) askHub(now time.Time) {
	var body []byte
	if f.walk.from == 0 && !f.hubKnown {
		f.walk.last = true
		body, _ = json.Marshal(map[string]string{"last_by_subj": f.cfg.Upstream})
	} else {
		if f.walk.from == 0 {
			f.walk.from = f.hubSeq + 1
		}
		f.walk.last = false
		body = strconv.AppendUint(append(body, `{"seq":`...), f.walk.from, 10)
		body = strconv.AppendQuote(append(body, `,"next_by_subj":`...), f.cfg.Upstream)
		body = append(body, '}')
	}
	f.walk.gen++
	f.walk.out, f.walk.at = true, now
	f.reply = strconv.AppendUint(append(append(f.reply[:0], f.inbox...), walkToken), f.walk.gen, 10)
	f.js.bus.Publish("$JS."+f.cfg.HubDomain+".API.STREAM.MSG.GET."+f.cfg.HubStream, string(f.reply), nil, body)
}

// handleWalk takes the hub's answer to the walk's question.
func (f *Forwarder) handleWalk(a ackMsg) {
	if !f.walk.out || a.walk != f.walk.gen {
		return // an answer to a question given up
	}
	f.walk.out = false
	now := time.Now()
	if st, _ := protocol.HeaderStatus(a.header); st == 503 {
		f.setErr("the hub's JetStream API for domain %q does not answer", f.cfg.HubDomain)
		f.retryLater(now)
		return
	}
	var r msgGetReply
	if err := json.Unmarshal(a.data, &r); err != nil {
		f.setErr("unreadable answer from the hub stream: %v", err)
		f.retryLater(now)
		return
	}
	switch {
	case r.Error != nil && r.Error.ErrCode == 10037: // no (more) message
		if f.walk.last {
			// Nothing of ours on the hub: the next walk reads it from
			// its start, which costs only what it comes to hold of ours.
			f.hubSeq, f.hubKnown = 0, true
		}
		f.walkDone()
		return
	case r.Error != nil:
		f.setErr("hub stream %s: %s (err_code %d)", f.cfg.HubStream, r.Error.Description, r.Error.ErrCode)
		f.retryLater(now)
		return
	case r.Message == nil:
		f.setErr("hub stream %s answered without a message", f.cfg.HubStream)
		f.retryLater(now)
		return
	}
	id := string(protocol.HeaderGet(r.Message.Hdrs, "Nats-Msg-Id"))
	seq, ours := f.parseMsgID(id)
	if !ours && !f.walk.foreign && !f.isOwnEarlier(id) {
		f.walk.foreign = true
		f.js.log.Warn("stream forward: the hub holds a message under upstream that is not from this forward: is upstream shared?",
			"stream", f.cfg.Stream, "upstream", f.cfg.Upstream, "hub_seq", r.Message.Seq, "msg_id", id)
	}
	if f.walk.last {
		// Everything of ours up to the hub's last message is taken as
		// held (how a cursor kept without a hub sequence catches up).
		if ours && seq > f.cursor {
			f.js.log.Info("stream forward: the hub already holds messages whose acks were lost",
				"stream", f.cfg.Stream, "cursor", f.cursor, "hub_has_up_to", seq)
			f.cursor = seq
			f.next = seq + 1
		}
		f.hubSeq, f.hubKnown = max(f.hubSeq, r.Message.Seq), true
		f.walkDone()
		return
	}
	if ours && seq > f.cursor {
		if _, ok := f.held[seq]; !ok {
			f.walk.found++
		}
		f.held[seq] = r.Message.Seq
	}
	f.walk.from = r.Message.Seq + 1
	f.askHub(now)
}

// isOwnEarlier reports whether id is this forward's from an earlier life
// of the local stream (another epoch).
func (f *Forwarder) isOwnEarlier(id string) bool {
	prefix := f.cfg.Gateway + ":" + f.cfg.Stream + ":"
	return len(id) > len(prefix) && id[:len(prefix)] == prefix
}

// walkDone ends a read-back: sending starts again from the cursor.
func (f *Forwarder) walkDone() {
	if f.walk.found > 0 {
		f.js.log.Info("stream forward: the hub already holds messages whose acks were lost; sending only what it lacks",
			"stream", f.cfg.Stream, "cursor", f.cursor, "held_past_cursor", f.walk.found)
	}
	f.st.mu.Lock()
	f.st.syncs++
	f.st.walked += uint64(f.walk.found)
	f.st.mu.Unlock()
	f.walk = fwdWalk{gen: f.walk.gen}
	f.synced()
	f.persist(true)
}
