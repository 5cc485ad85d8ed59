package jetstore

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/wrenmq/wren/protocol"

	"github.com/wrenmq/wren/jetstore/store"
)

// syncToken is the reply token of the forwarder's question to the hub.
const syncToken = "sync"

// run is the forwarder's one goroutine: it reads the local stream,
// publishes, takes acks and keeps the cursor.
func (f *Forwarder) run() {
	defer close(f.done)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var st *stream
	var syncAt time.Time // when the question to the hub went out; zero if none is pending
	for {
		if cur := f.js.lookup(f.cfg.Stream); cur != st {
			st = cur
			if st != nil {
				f.open(st)
			} else {
				f.setState("waiting for the local stream")
			}
		}
		if st != nil {
			syncAt = f.step(st, syncAt)
		}
		select {
		case <-f.quit:
			f.persist(true)
			return
		case <-f.poke:
		case a := <-f.acks:
			syncAt = f.handleAck(a, syncAt)
			for n := len(f.acks); n > 0; n-- {
				syncAt = f.handleAck(<-f.acks, syncAt)
			}
		case <-tick.C:
		}
	}
}

// open starts on a (new) local stream: the cursor comes from disk when it
// was kept for the same stream, else from the stream's start.
func (f *Forwarder) open(st *stream) {
	f.epoch = strconv.FormatInt(st.created.Unix(), 36)
	f.cursor = 0
	if c, ok := f.load(); ok {
		f.cursor = c
	}
	f.saved = f.cursor
	f.next = f.cursor + 1
	f.inflight = f.inflight[:0]
	f.needSync = true
	f.gap = 0
	f.backoff = f.cfg.RetryMin
	f.setState("connecting")
}

// step does what can be done now; it returns when the question to the
// hub went out (zero if none is pending).
func (f *Forwarder) step(st *stream, syncAt time.Time) time.Time {
	now := time.Now()
	defer f.report(st, now)
	if f.kicked.Swap(false) {
		f.waitTill = time.Time{}
		f.backoff = f.cfg.RetryMin
	}
	if now.Before(f.waitTill) {
		return syncAt
	}
	// A window whose oldest publish got no answer is lost (the link went
	// down, the hub restarted): what it holds is found out again before
	// anything is sent.
	for _, s := range f.inflight {
		if !s.done {
			if now.Sub(s.sent) > f.cfg.AckWait {
				f.setErr("no PubAck from the hub within %v for sequence %d; sending again from %d", f.cfg.AckWait, s.seq, f.cursor+1)
				f.reset(true)
				f.retryLater(now)
				return time.Time{}
			}
			break
		}
	}
	if f.needSync {
		if f.cfg.HubStream == "" {
			f.needSync = false
		} else {
			if syncAt.IsZero() {
				f.askHub()
				f.setState("asking the hub what it holds")
				return now
			}
			if now.Sub(syncAt) > f.cfg.AckWait {
				f.setErr("hub stream %s did not answer within %v (link down?)", f.cfg.HubStream, f.cfg.AckWait)
				f.retryLater(now)
				return time.Time{}
			}
			return syncAt
		}
	}
	f.fill(st, now)
	f.advance()
	f.persist(false)
	return syncAt
}

// askHub requests the last message the hub stream holds under Upstream.
func (f *Forwarder) askHub() {
	subj := "$JS." + f.cfg.HubDomain + ".API.STREAM.MSG.GET." + f.cfg.HubStream
	body, _ := json.Marshal(map[string]string{"last_by_subj": f.cfg.Upstream})
	f.js.bus.Publish(subj, f.inbox+syncToken, nil, body)
}

// fill publishes what the window has room for.
func (f *Forwarder) fill(st *stream, now time.Time) {
	free := f.cfg.Window - len(f.inflight)
	if free <= 0 {
		return
	}
	state := st.store.State()
	if f.next > state.LastSeq {
		if len(f.inflight) == 0 {
			f.setState("forwarding")
		}
		return
	}
	if f.next < state.FirstSeq {
		f.dropped(f.next, state.FirstSeq-1)
		f.next = state.FirstSeq
	}
	// Top the window up in bursts, not one message per ack: each scan
	// decodes a block, and each burst leaves in few socket writes.
	if len(f.inflight) > 0 && free < f.cfg.Window/4 {
		return
	}
	var err error
	f.js.bus.PublishBatch(func(publish func(subject, reply string, header, data []byte) error) {
		err = st.store.Scan(f.next, func(m store.StoredMsg) bool {
			if m.Seq > f.next {
				f.dropped(f.next, m.Seq-1)
			}
			f.next = m.Seq + 1
			up, ok := f.upstreamSubject(m.Subject)
			if !ok {
				f.inflight = append(f.inflight, fwdSlot{seq: m.Seq, done: true})
			} else {
				f.hdr = f.header(f.hdr[:0], m.Header, m.Seq)
				f.reply = strconv.AppendUint(append(f.reply[:0], f.inbox...), m.Seq, 10)
				if err := publish(up, string(f.reply), f.hdr, m.Data); err != nil {
					f.next = m.Seq
					return false
				}
				f.inflight = append(f.inflight, fwdSlot{seq: m.Seq, sent: now, size: len(m.Subject) + len(m.Header) + len(m.Data)})
			}
			free--
			return free > 0
		})
	})
	if err != nil {
		f.setErr("reading the local stream: %v", err)
	}
	f.setState("forwarding")
}

// header is the message's own header block without the headers that were
// meant for the local stream (its Nats-Msg-Id and Nats-Expected-*), plus
// the forward's Nats-Msg-Id (and Nats-Expected-Stream when the hub stream
// is named, so nothing lands in another stream).
func (f *Forwarder) header(dst, own []byte, seq uint64) []byte {
	dst = protocol.AppendHeaderStart(dst, 0, "")
	protocol.HeaderFields(own, func(name, value []byte) bool {
		if asciiHasPrefixFold(name, "Nats-Expected-") || asciiEqualFoldStr(name, "Nats-Msg-Id") {
			return true
		}
		dst = protocol.AppendHeaderField(dst, string(name), string(value))
		return true
	})
	dst = protocol.AppendHeaderField(dst, "Nats-Msg-Id", f.msgID(seq))
	if f.cfg.HubStream != "" {
		dst = protocol.AppendHeaderField(dst, "Nats-Expected-Stream", f.cfg.HubStream)
	}
	return protocol.AppendHeaderEnd(dst)
}

func asciiEqualFoldStr(b []byte, s string) bool {
	return len(b) == len(s) && asciiHasPrefixFold(b, s)
}

// dropped counts messages the local stream let go (its limits, a purge,
// a delete) before they were forwarded.
func (f *Forwarder) dropped(from, to uint64) {
	if to < from {
		return
	}
	n := to - from + 1
	f.st.mu.Lock()
	f.st.dropped += n
	total := f.st.dropped
	f.st.mu.Unlock()
	// Logged at most every 10s, with the count so far: a stream whose
	// retention removes messages at once would otherwise log each.
	if now := time.Now(); now.Sub(f.droppedLog) >= 10*time.Second {
		f.droppedLog = now
		f.js.log.Warn("stream forward: messages left the local stream before they were forwarded",
			"stream", f.cfg.Stream, "from_seq", from, "to_seq", to, "count", n, "total", total)
	}
}

// advance moves the cursor over the acknowledged front of the window.
func (f *Forwarder) advance() {
	i := 0
	for i < len(f.inflight) && f.inflight[i].done {
		f.cursor = f.inflight[i].seq
		i++
	}
	if i > 0 {
		f.inflight = append(f.inflight[:0], f.inflight[i:]...)
	}
	if len(f.inflight) == 0 && f.next > 0 && f.next-1 > f.cursor {
		f.cursor = f.next - 1
	}
}

// reset forgets the window; sending starts again after the cursor.
func (f *Forwarder) reset(sync bool) {
	f.inflight = f.inflight[:0]
	f.next = f.cursor + 1
	f.needSync = f.needSync || sync
	f.st.mu.Lock()
	f.st.resends++
	f.st.mu.Unlock()
}

// retryLater backs off, doubling up to RetryMax, with jitter.
func (f *Forwarder) retryLater(now time.Time) {
	d := f.backoff
	var b [1]byte
	randRead(b[:])
	d = d*3/4 + time.Duration(int64(b[0])*int64(d)/512)
	f.waitTill = now.Add(d)
	f.backoff *= 2
	if f.backoff > f.cfg.RetryMax {
		f.backoff = f.cfg.RetryMax
	}
	f.setState("retrying")
}

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

// msgGetReply is the hub's answer to STREAM.MSG.GET.
type msgGetReply struct {
	Message *struct {
		Subject string `json:"subject"`
		Seq     uint64 `json:"seq"`
		Hdrs    []byte `json:"hdrs"`
	} `json:"message"`
	Error *apiError `json:"error"`
}

// handleAck takes one answer from the hub.
func (f *Forwarder) handleAck(a ackMsg, syncAt time.Time) time.Time {
	if a.seq == 0 {
		return f.handleSync(a, syncAt)
	}
	i := f.slot(a.seq)
	if i < 0 {
		// From a window given up. The hub stored this one; one before it
		// that was never acknowledged may be missing.
		if a.seq > f.cursor+1 && len(a.header) == 0 {
			var pa pubAck
			if json.Unmarshal(a.data, &pa) == nil && pa.Error == nil && pa.Seq != 0 {
				f.markGap(f.cursor + 1)
			}
		}
		return syncAt
	}
	if st, desc := protocol.HeaderStatus(a.header); st == 503 {
		_ = desc
		f.refuse(a.seq, "no hub stream answers on "+f.cfg.Upstream+" (is the hub stream missing, or the link down?)")
		return syncAt
	}
	var pa pubAck
	if err := json.Unmarshal(a.data, &pa); err != nil {
		f.refuse(a.seq, "unreadable PubAck from the hub: "+err.Error())
		return syncAt
	}
	if pa.Error != nil {
		f.refuse(a.seq, "hub refused the message: "+pa.Error.Description+" (err_code "+strconv.Itoa(pa.Error.ErrCode)+")")
		return syncAt
	}
	f.inflight[i].done = true
	f.backoff = f.cfg.RetryMin
	if i > 0 && !f.inflight[0].done {
		// Acknowledged past a publish still unanswered: acks come back in
		// order, so that one (and any between) may never reach the hub.
		f.markGap(f.inflight[0].seq)
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
	if a.seq == f.inflight[0].seq {
		f.advance()
	}
	return syncAt
}

// refuse handles a publish the hub would not store: the window is sent
// again from the cursor after a backoff, and nothing past the refused
// message is trusted to be on the hub before it is.
func (f *Forwarder) refuse(seq uint64, why string) {
	f.markGap(seq)
	f.setErr("sequence %d: %s", seq, why)
	f.advance()
	f.reset(false)
	f.retryLater(time.Now())
}

// markGap notes that the hub may lack seq while it holds later messages,
// so that the next answer to what it holds is not trusted past seq.
func (f *Forwarder) markGap(seq uint64) {
	if f.gap == 0 || seq < f.gap {
		f.gap = seq
	}
}

// handleSync takes the hub's answer to what it holds under Upstream.
func (f *Forwarder) handleSync(a ackMsg, syncAt time.Time) time.Time {
	if syncAt.IsZero() {
		return syncAt
	}
	if st, _ := protocol.HeaderStatus(a.header); st == 503 {
		f.setErr("the hub's JetStream API for domain %q does not answer", f.cfg.HubDomain)
		f.retryLater(time.Now())
		return time.Time{}
	}
	var r msgGetReply
	if err := json.Unmarshal(a.data, &r); err != nil {
		f.setErr("unreadable answer from the hub stream: %v", err)
		f.retryLater(time.Now())
		return time.Time{}
	}
	var last uint64
	switch {
	case r.Error != nil && r.Error.ErrCode == 10037: // no message: the hub holds nothing of ours
	case r.Error != nil:
		f.setErr("hub stream %s: %s (err_code %d)", f.cfg.HubStream, r.Error.Description, r.Error.ErrCode)
		f.retryLater(time.Now())
		return time.Time{}
	case r.Message != nil:
		id := string(protocol.HeaderGet(r.Message.Hdrs, "Nats-Msg-Id"))
		seq, ok := f.parseMsgID(id)
		if !ok {
			f.setErr("the hub's last message under %s (hub seq %d) is not from this forward (Nats-Msg-Id %q): is upstream shared?", f.cfg.Upstream, r.Message.Seq, id)
		} else {
			last = seq
		}
	}
	// The hub's last message says it holds everything before only when
	// nothing before it went missing: past a gap, the window is sent again
	// (what the hub does hold of it is a duplicate within its window).
	if f.gap != 0 && last >= f.gap {
		last = f.gap - 1
	}
	if last > f.cursor {
		f.js.log.Info("stream forward: the hub already holds messages whose acks were lost",
			"stream", f.cfg.Stream, "cursor", f.cursor, "hub_has_up_to", last)
		f.cursor = last
	}
	f.inflight = f.inflight[:0]
	f.next = f.cursor + 1
	f.needSync = false
	f.gap = 0
	f.st.mu.Lock()
	f.st.syncs++
	f.st.mu.Unlock()
	f.persist(true)
	f.wake()
	return time.Time{}
}

// slot finds seq in the window.
func (f *Forwarder) slot(seq uint64) int {
	lo, hi := 0, len(f.inflight)
	for lo < hi {
		m := (lo + hi) / 2
		if f.inflight[m].seq < seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(f.inflight) && f.inflight[lo].seq == seq {
		return lo
	}
	return -1
}
