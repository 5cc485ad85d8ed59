package jetstore

import (
	"strconv"
	"time"

	"github.com/wrenmq/wren/protocol"

	"github.com/wrenmq/wren/jetstore/store"
)

// run is the forwarder's one goroutine: it reads the local stream,
// publishes, takes acks and keeps the cursor.
func (f *Forwarder) run() {
	defer close(f.done)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var st *stream
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
			f.step(st)
		}
		select {
		case <-f.quit:
			f.persist(true)
			return
		case <-f.poke:
		case a := <-f.acks:
			f.handleAck(a)
			for n := len(f.acks); n > 0; n-- {
				f.handleAck(<-f.acks)
			}
		case <-tick.C:
		}
	}
}

// open starts on a (new) local stream: the cursor comes from disk when it
// was kept for the same stream, else from the stream's start. The hub
// sequence is kept across a stream made again: whatever the new stream
// forwards lands past it.
func (f *Forwarder) open(st *stream) {
	f.epoch = strconv.FormatInt(st.created.Unix(), 36)
	f.cursor, f.hubSeq, f.hubKnown = 0, 0, false
	if c, ok := f.load(); ok {
		if c.HubSeq != nil {
			f.hubSeq, f.hubKnown = *c.HubSeq, true
		}
		if c.Epoch == f.epoch {
			f.cursor = c.Cursor
		}
	}
	f.saved, f.savedHub, f.savedKnown = f.cursor, f.hubSeq, f.hubKnown
	f.idHead = append(append(f.idHead[:0], "Nats-Msg-Id: "...), f.idPrefix()...)
	f.next = f.cursor + 1
	f.inflight, f.pending = f.base[:0], 0
	clear(f.held)
	f.holdTo, f.probe, f.oversize, f.sentTop = 0, false, 0, 0
	f.needSync = true
	f.walk = fwdWalk{gen: f.walk.gen}
	f.backoff = f.cfg.RetryMin
	f.setState("connecting")
}

// step does what can be done now.
func (f *Forwarder) step(st *stream) {
	now := time.Now()
	defer f.report(st, now)
	if f.kicked.Swap(false) {
		f.waitTill = time.Time{}
		f.backoff = f.cfg.RetryMin
		// A link just came up: what went out before got no answer and
		// will get none (a question to the hub included), so the hub is
		// read back now rather than after AckWait.
		if f.pending > 0 {
			f.giveUp()
		}
		f.walk.out = false
	}
	if now.Before(f.waitTill) {
		return
	}
	// A window whose oldest publish got no answer is lost (the link went
	// down, the hub restarted): what the hub holds is read back before
	// anything is sent again.
	if f.pending > 0 {
		for i := range f.inflight {
			if s := &f.inflight[i]; s.state == slotSent {
				// Acks still arriving mean the hub is working through a
				// deep window: a publish lost among them shows as a gap.
				if now.Sub(s.sent) > f.cfg.AckWait && now.Sub(f.answeredAt) > f.cfg.AckWait {
					f.setErr("no PubAck from the hub within %v for sequence %d; sending again what it lacks from %d", f.cfg.AckWait, s.seq, f.cursor+1)
					f.giveUp()
					f.retryLater(now)
					return
				}
				break
			}
		}
	}
	if f.needSync {
		// Publishes still unanswered may yet be stored: the hub is read
		// back once each is answered or given up.
		if f.pending > 0 {
			return
		}
		if f.cfg.HubStream == "" {
			f.synced()
		} else {
			f.syncStep(now)
			return
		}
	}
	f.fill(st, now)
	f.advance()
	f.persist(false)
}

// giveUp marks every unanswered publish lost.
func (f *Forwarder) giveUp() {
	for i := range f.inflight {
		if f.inflight[i].state == slotSent {
			f.inflight[i].state = slotLost
		}
	}
	f.pending = 0
	f.needSync = true
}

// synced starts sending again after the cursor, now that what the hub
// holds past it is in held: those are skipped, the rest sent in order.
func (f *Forwarder) synced() {
	f.advance()
	for _, s := range f.inflight {
		if s.state == slotDone && s.hub != 0 {
			f.held[s.seq] = s.hub
		}
	}
	f.holdTo = 0
	for seq := range f.held {
		if seq <= f.cursor {
			delete(f.held, seq)
		} else if seq > f.holdTo {
			f.holdTo = seq
		}
	}
	f.inflight, f.pending = f.base[:0], 0
	f.next = f.cursor + 1
	f.needSync = false
	f.wake()
}

// maxScan bounds how many messages one fill reads, so that skipping what
// the hub holds never keeps acks waiting long.
const maxScan = 1024

// fill publishes what the window has room for.
func (f *Forwarder) fill(st *stream, now time.Time) {
	free := f.cfg.Window - f.pending
	if f.probe {
		free = 1 - f.pending
	}
	// Messages not sent (held, not for forwarding) wait in the window
	// behind an unanswered one too; they are bounded as well.
	if free <= 0 || len(f.inflight) >= 2*f.cfg.Window+maxScan {
		return
	}
	state := st.store.State()
	if f.next > state.LastSeq {
		if f.pending == 0 {
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
	if f.pending > 0 && free < f.cfg.Window/4 && !f.probe {
		return
	}
	if f.holdTo != 0 && f.cursor >= f.holdTo {
		f.holdTo = 0
	}
	f.compact()
	maxPayload := 0
	if f.cfg.HubMaxPayload != nil {
		maxPayload = f.cfg.HubMaxPayload()
	}
	scan := maxScan
	var err, perr error
	blocked := ""
	f.js.bus.PublishBatch(func(publish func(subject, reply string, header, data []byte) error) {
		err = st.store.Scan(f.next, func(m store.StoredMsg) bool {
			if f.holdTo != 0 && m.Seq > f.holdTo {
				blocked = "sending again what the hub lacks before newer messages"
				return false
			}
			if m.Seq > f.next {
				f.dropped(f.next, m.Seq-1)
				f.next = m.Seq
			}
			scan--
			up, ok := f.upstreamSubject(m.Subject)
			if hub, held := f.held[m.Seq]; !ok || held {
				delete(f.held, m.Seq)
				f.next = m.Seq + 1
				f.inflight = append(f.inflight, fwdSlot{seq: m.Seq, hub: hub, state: slotDone})
				return scan > 0
			}
			f.hdr = f.header(f.hdr[:0], m.Header, m.Seq)
			if size := len(f.hdr) + len(m.Data); maxPayload > 0 && size > maxPayload {
				f.tooBig(m.Seq, size, maxPayload)
				blocked = "stopped at a message over the hub's max_payload"
				return false
			}
			f.reply = strconv.AppendUint(append(f.reply[:0], f.inbox...), m.Seq, 10)
			if perr = publish(up, string(f.reply), f.hdr, m.Data); perr != nil {
				return false
			}
			f.next = m.Seq + 1
			if m.Seq <= f.sentTop {
				f.st.mu.Lock()
				f.st.resends++
				f.st.mu.Unlock()
			} else {
				f.sentTop = m.Seq
			}
			f.inflight = append(f.inflight, fwdSlot{seq: m.Seq, sent: now, state: slotSent})
			f.pending++
			free--
			return free > 0 && scan > 0
		})
	})
	switch {
	case err != nil:
		f.setErr("reading the local stream: %v", err)
	case perr != nil:
		f.setErr("publishing sequence %d: %v", f.next, perr)
		f.retryLater(now)
		return
	case scan <= 0:
		f.wake() // more to read
	}
	if blocked != "" {
		f.setState(blocked)
		return
	}
	f.setState("forwarding")
}

// tooBig stops the forward at seq, which the hub's max_payload does not
// let through: counted and logged once per message, shown as the last
// error, tried again whenever the forward fills (a link to a hub with a
// larger limit lets it go). It is never skipped.
func (f *Forwarder) tooBig(seq uint64, size, maxPayload int) {
	msg := "message " + strconv.FormatUint(seq, 10) + " is " + strconv.Itoa(size) +
		" bytes, over the hub's max_payload " + strconv.Itoa(maxPayload)
	if f.oversize != seq {
		f.oversize = seq
		f.st.mu.Lock()
		f.st.oversize++
		f.st.mu.Unlock()
	}
	f.setErr("%s", msg)
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
	dst = append(strconv.AppendUint(append(dst, f.idHead...), seq, 10), "\r\n"...)
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

// advance moves the cursor over the stored front of the window.
func (f *Forwarder) advance() {
	i := 0
	for i < len(f.inflight) && f.inflight[i].state == slotDone {
		f.cursor = f.inflight[i].seq
		if h := f.inflight[i].hub; h != 0 {
			f.hubSeq, f.hubKnown = max(f.hubSeq, h), true
		}
		i++
	}
	if i > 0 {
		f.inflight = f.inflight[i:] // compact moves it back to the front
	}
	if len(f.inflight) == 0 && f.next > 0 && f.next-1 > f.cursor && !f.needSync {
		f.cursor = f.next - 1
	}
}

// compact moves the window to the front of its backing array once
// advancing has used up the room after it, so that neither advancing nor
// appending copies the window each time.
func (f *Forwarder) compact() {
	if cap(f.inflight)-len(f.inflight) >= f.cfg.Window+maxScan {
		return
	}
	if len(f.inflight)+f.cfg.Window+maxScan > cap(f.base) {
		f.base = make([]fwdSlot, 0, 2*(len(f.inflight)+f.cfg.Window+maxScan))
	}
	f.inflight = append(f.base[:0], f.inflight...)
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
