package jetstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
)

var randRead = rand.Read

// forwardFile is where a forward's cursor is kept: beside the streams,
// named for the stream and the upstream subject.
func forwardFile(streamsDir string, cfg ForwardConfig) string {
	h := sha256.Sum256([]byte(cfg.Stream + "\x00" + cfg.Upstream))
	return filepath.Join(filepath.Dir(streamsDir), "forward", cfg.Stream+"-"+hex.EncodeToString(h[:6])+".json")
}

// cursorFile is the persisted state of a forward: the cursor, and the
// hub sequence the hub is read back from after it (see Forwarder.hubSeq).
type cursorFile struct {
	Stream   string  `json:"stream"`
	Upstream string  `json:"upstream"`
	Epoch    string  `json:"epoch"`
	Cursor   uint64  `json:"cursor"`
	HubSeq   *uint64 `json:"hub_seq,omitempty"` // absent when not known
}

// load reads the kept state, if any, for the same stream name (its epoch
// may differ: the caller decides).
func (f *Forwarder) load() (cursorFile, bool) {
	var c cursorFile
	b, err := os.ReadFile(f.file)
	if err != nil {
		return c, false
	}
	if json.Unmarshal(b, &c) != nil || c.Stream != f.cfg.Stream {
		return cursorFile{}, false
	}
	return c, true
}

// persistEvery bounds how often the cursor is written while messages
// flow. A cursor behind the acks after a crash costs a longer read-back:
// the hub is read from the hub sequence kept with it, so nothing it holds
// is sent twice.
const persistEvery = 200 * time.Millisecond

// persist hands the cursor to the writer goroutine when it (or the hub
// sequence kept with it) changed, at most every persistEvery unless now,
// so the fsyncs of keeping it never hold up the window. With now it waits
// until the cursor is on disk, one handed over earlier and not written
// yet included.
func (f *Forwarder) persist(now bool) {
	if f.epoch == "" {
		return
	}
	changed := f.cursor != f.saved || f.hubSeq != f.savedHub || f.hubKnown != f.savedKnown
	if changed && (now || time.Since(f.savedAt) >= persistEvery) {
		c := cursorFile{Stream: f.cfg.Stream, Upstream: f.cfg.Upstream, Epoch: f.epoch, Cursor: f.cursor}
		if f.hubKnown {
			hs := f.hubSeq
			c.HubSeq = &hs
		}
		f.saved, f.savedHub, f.savedKnown, f.savedAt = f.cursor, f.hubSeq, f.hubKnown, time.Now()
		select {
		case <-f.toSave: // replace a cursor not written yet
		default:
		}
		f.toSave <- c
	}
	if now {
		done := make(chan struct{})
		f.flushReq <- done
		<-done
	}
}

// saver writes the cursors persist hands it; it ends with the forwarder.
func (f *Forwarder) saver() {
	defer close(f.saverDone)
	write := func(c cursorFile) {
		b, _ := json.Marshal(c)
		if err := store.MkdirAll(filepath.Dir(f.file), 0o750); err != nil {
			f.setErr("keeping the cursor: %v", err)
			return
		}
		if err := store.WriteFileAtomic(f.file, b); err != nil {
			f.setErr("keeping the cursor: %v", err)
		}
	}
	for {
		select {
		case c := <-f.toSave:
			write(c)
		case done := <-f.flushReq:
			select {
			case c := <-f.toSave:
				write(c)
			default:
			}
			close(done)
		case <-f.saverQuit:
			select {
			case c := <-f.toSave:
				write(c)
			default:
			}
			return
		}
	}
}

// ForwardStatus is one forward in /uplinkz.
type ForwardStatus struct {
	Stream       string `json:"stream"`
	Subject      string `json:"subject"`
	Upstream     string `json:"upstream"`
	HubStream    string `json:"hub_stream,omitempty"`
	State        string `json:"state"`
	Connected    bool   `json:"connected"`
	Cursor       uint64 `json:"cursor"`
	LastSeq      uint64 `json:"last_seq"`
	Waiting      uint64 `json:"waiting_msgs"`
	WaitingBytes uint64 `json:"waiting_bytes"`
	InFlight     int    `json:"in_flight"`
	Forwarded    uint64 `json:"forwarded"`
	Duplicates   uint64 `json:"duplicates"`
	Dropped      uint64 `json:"dropped"`
	Resends      uint64 `json:"resends"`
	HubSyncs     uint64 `json:"hub_syncs"`
	// HeldFound counts messages past the cursor that reading the hub back
	// found it held already (their acks were lost): not sent again.
	HeldFound uint64 `json:"hub_held_found"`
	// OverMaxPayload counts messages found over the hub's max_payload;
	// the forward stops at such a one until the hub's limit allows it.
	OverMaxPayload uint64  `json:"over_max_payload"`
	HubLastSeq     uint64  `json:"hub_last_seq,omitempty"`
	Rate           float64 `json:"forward_rate"`
	LastAck        string  `json:"last_ack,omitempty"`
	LastError      string  `json:"last_error,omitempty"`
	LastErrorTime  string  `json:"last_error_at,omitempty"`
}

// report refreshes the counters monitoring reads. Run goroutine only.
func (f *Forwarder) report(st *stream, now time.Time) {
	state := st.store.State()
	var waiting uint64
	if state.LastSeq > f.cursor {
		from := max(f.cursor+1, state.FirstSeq)
		waiting = st.store.Count(from, state.LastSeq)
	}
	var avg uint64
	if state.Msgs > 0 {
		avg = state.Bytes / state.Msgs
	}
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	f.st.cursor, f.st.lastSeq, f.st.waiting, f.st.waitBytes = f.cursor, state.LastSeq, waiting, waiting*avg
	f.st.inflight = f.pending
	if el := now.Sub(f.st.rateAt); el >= time.Second {
		total := f.st.forwarded + f.st.duplicates
		if !f.st.rateAt.IsZero() {
			f.st.rate = float64(total-f.st.rateCount) / el.Seconds()
		}
		f.st.rateAt, f.st.rateCount = now, total
	}
}

// Status describes the forward for monitoring.
func (f *Forwarder) Status() ForwardStatus {
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	s := ForwardStatus{Stream: f.cfg.Stream, Subject: f.cfg.Subject, Upstream: f.cfg.Upstream, HubStream: f.cfg.HubStream,
		State: f.st.state, Cursor: f.st.cursor, LastSeq: f.st.lastSeq, Waiting: f.st.waiting, WaitingBytes: f.st.waitBytes,
		InFlight: f.st.inflight, Forwarded: f.st.forwarded, Duplicates: f.st.duplicates, Dropped: f.st.dropped,
		Resends: f.st.resends, HubSyncs: f.st.syncs, HeldFound: f.st.walked, OverMaxPayload: f.st.oversize, HubLastSeq: f.st.hubLastSeq, Rate: f.st.rate, LastError: f.st.lastErr}
	if !f.st.lastAck.IsZero() {
		s.LastAck = f.st.lastAck.UTC().Format(time.RFC3339Nano)
		s.Connected = f.st.lastErrAt.Before(f.st.lastAck)
	}
	if !f.st.lastErrAt.IsZero() {
		s.LastErrorTime = f.st.lastErrAt.UTC().Format(time.RFC3339Nano)
	}
	return s
}
