package jetstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// pubAck is a hub stream's answer to a publish.
type pubAck struct {
	Stream    string    `json:"stream"`
	Seq       uint64    `json:"seq"`
	Duplicate bool      `json:"duplicate"`
	Error     *apiError `json:"error"`
}

type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

// parsePubAck reads a PubAck. The common answer, {"stream":"S",
// "seq":N} maybe with "domain" and "duplicate":true, is read without the
// JSON decoder (one per forwarded message); anything else goes through it.
func parsePubAck(data []byte, pa *pubAck) error {
	if parsePubAckFast(data, pa) {
		return nil
	}
	return json.Unmarshal(data, pa)
}

// parsePubAckFast reads a PubAck that stored the message, reporting false
// for anything else (an error, an unexpected shape).
func parsePubAckFast(data []byte, pa *pubAck) bool {
	if len(data) == 0 || data[0] != '{' || bytes.IndexByte(data, '\\') >= 0 || bytes.Contains(data, []byte(`"error"`)) {
		return false
	}
	i := bytes.Index(data, []byte(`"seq":`))
	if i < 0 {
		return false
	}
	j := i + len(`"seq":`)
	k := j
	var seq uint64
	for k < len(data) && data[k] >= '0' && data[k] <= '9' && k-j < 19 {
		seq = seq*10 + uint64(data[k]-'0')
		k++
	}
	if k == j || seq == 0 || k >= len(data) || (data[k] != ',' && data[k] != '}') {
		return false
	}
	pa.Seq, pa.Duplicate = seq, bytes.Contains(data, []byte(`"duplicate":true`))
	return true
}

// handleAck takes one answer from the hub.
func (f *Forwarder) handleAck(a ackMsg) {
	if a.walk != 0 {
		f.handleWalk(a)
		return
	}
	i := f.slot(a.seq)
	var pa pubAck
	var why string
	if a.hub != 0 {
		pa.Seq, pa.Duplicate = a.hub, a.dup
	} else if st, _ := protocol.HeaderStatus(a.header); st == 503 {
		why = "no hub stream answers on " + f.cfg.Upstream + " (is the hub stream missing, or the link down?)"
	} else if err := parsePubAck(a.data, &pa); err != nil {
		why = "unreadable PubAck from the hub: " + err.Error()
	} else if pa.Error != nil {
		why = "hub refused the message: " + pa.Error.Description + " (err_code " + strconv.Itoa(pa.Error.ErrCode) + ")"
	}
	if i < 0 || f.inflight[i].state != slotSent {
		// A publish given up on (or overtaken) was stored after all.
		if why == "" && a.seq > f.cursor && pa.Seq != 0 {
			if i >= 0 {
				f.inflight[i].state, f.inflight[i].hub = slotDone, pa.Seq
			} else if _, ok := f.held[a.seq]; !ok {
				f.held[a.seq] = pa.Seq
			}
		}
		return
	}
	s := &f.inflight[i]
	f.pending--
	f.answeredAt = time.Now()
	if why != "" {
		f.refuse(s, why)
		return
	}
	if !pa.Duplicate && pa.Seq <= f.hubSeq {
		// The hub stream numbers from below what was kept: it was made
		// again. Walks start from what it says from now on.
		f.hubSeq = 0
	}
	s.state, s.hub = slotDone, pa.Seq
	f.backoff = f.cfg.RetryMin
	f.probe = false
	// Acks come back in order: publishes before this one still
	// unanswered were lost (a hub leader gone, a link cut) or their acks
	// were; the hub is read back before more is sent.
	for j := 0; j < i; j++ {
		if f.inflight[j].state == slotSent {
			f.inflight[j].state = slotLost
			f.pending--
			f.needSync = true
		}
	}
	f.st.mu.Lock()
	if pa.Duplicate {
		f.st.duplicates++
	} else {
		f.st.forwarded++
	}
	f.st.hubLastSeq = pa.Seq
	f.st.lastAck = time.Now()
	f.st.mu.Unlock()
	if i == 0 || f.inflight[0].state == slotDone {
		f.advance()
	}
}

// refuse handles a publish the hub would not store: after a backoff the
// hub is read back and what it lacks is sent again from the refused one,
// one at a time until it is stored. Nothing is skipped.
func (f *Forwarder) refuse(s *fwdSlot, why string) {
	s.state = slotLost
	f.needSync = true
	f.probe = true
	f.setErr("sequence %d: %s", s.seq, why)
	if now := time.Now(); !now.Before(f.waitTill) {
		f.retryLater(now)
	}
}
