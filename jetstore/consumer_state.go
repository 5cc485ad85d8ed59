package jetstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
)

// A durable consumer keeps its state in its own directory:
//
//	consumer.json  config and creation time, written atomically
//	state.snap     the whole delivery state at one moment, written atomically
//	state.log      what happened since: one record per delivery and ack
//
// Log records are framed as [len uint32][crc32c uint32][payload]; the
// payload is a type byte and uvarints. The log starts with a header record
// holding its generation; a snapshot covers the generations up to its own,
// so a log whose generation is not newer than the snapshot's is stale (a
// crash between writing the snapshot and replacing the log) and ignored.
// Replay stops at the first damaged record and cuts the log there.
//
// Records are written after every round of work, so a process crash loses
// nothing written; they are fsynced before an ack is confirmed (AckSync)
// under SyncAlways, and at least every second otherwise, so power loss can
// only undo unconfirmed acks (those messages are redelivered).
const (
	consumerMetaFile = "consumer.json"
	consumerSnapFile = "state.snap"
	consumerLogFile  = "state.log"

	recLogHeader byte = 1
	recDeliver   byte = 2
	recAck       byte = 3
	recAckAll    byte = 4
	recHold      byte = 5 // interest: a message given up on stays (stream_interest.go)
	recRelease   byte = 6 // interest: ... until this
)

// compactAt is the log size past which the state is snapshotted and the
// log started again; tests lower it.
var compactAt int64 = 4 << 20

// consumerMeta is what consumer.json holds.
type consumerMeta struct {
	Config  ConsumerConfig `json:"config"`
	Created time.Time      `json:"created"`
	// Owner is who created or last updated it (consumer_owner.go); absent
	// for a consumer without one, and in files written before owners
	// were recorded.
	Owner *consumerOwner `json:"owner,omitempty"`
}

// consumerSnapshot is what state.snap holds.
type consumerSnapshot struct {
	Gen     uint64      `json:"gen"`
	DSeq    uint64      `json:"dseq"`
	SSeq    uint64      `json:"sseq"`
	Pending [][4]uint64 `json:"pending,omitempty"` // stream seq, consumer seq, deliveries, time
	LPSEnd  uint64      `json:"lps_end,omitempty"`
	Held    []uint64    `json:"held,omitempty"` // interest: given up on, still kept
}

// stateLog is a consumer's open log.
type stateLog struct {
	dir string
	// fmu guards f, parked and dirty against closing an idle file
	// (consumer_state_files.go); f is nil while parked.
	fmu      sync.Mutex
	f        store.File
	parked   bool
	lastUse  atomic.Uint64
	gen      uint64
	buf      []byte
	size     int64
	dirty    bool
	lastSync time.Time
	policy   SyncPolicy
	every    time.Duration
}

func (l *stateLog) record(typ byte, vals ...uint64) {
	start := len(l.buf)
	l.buf = append(l.buf, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	for _, v := range vals {
		l.buf = binary.AppendUvarint(l.buf, v)
	}
	payload := l.buf[start+8:]
	binary.LittleEndian.PutUint32(l.buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(l.buf[start+4:], store.Checksum(payload))
}

func (l *stateLog) deliver(sseq, cseq, deliveries uint64, ts int64) {
	l.record(recDeliver, sseq, cseq, deliveries, uint64(ts))
}
func (l *stateLog) ack(sseq uint64)     { l.record(recAck, sseq) }
func (l *stateLog) ackAll(sseq uint64)  { l.record(recAckAll, sseq) }
func (l *stateLog) hold(sseq uint64)    { l.record(recHold, sseq) }
func (l *stateLog) release(sseq uint64) { l.record(recRelease, sseq) }

// syncInterval is how long written records may wait for their fsync.
func (l *stateLog) syncInterval() time.Duration {
	if l.policy == SyncInterval && l.every > 0 {
		return l.every
	}
	return time.Second
}

// flush writes the buffered records; it fsyncs when an ack confirmation
// waits (under SyncAlways) or the sync interval has passed.
func (l *stateLog) flush(confirm bool, now time.Time) error {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	if len(l.buf) == 0 && !l.dirty {
		return nil
	}
	f, err := l.file()
	if err != nil {
		return err
	}
	if len(l.buf) > 0 {
		n, err := f.Write(l.buf)
		l.size += int64(n)
		if err != nil {
			return err
		}
		l.buf = l.buf[:0]
		if cap(l.buf) > 1<<20 {
			l.buf = nil
		}
		l.dirty = true
	}
	if !l.dirty || l.policy == SyncNever {
		return nil
	}
	if (confirm && l.policy == SyncAlways) || now.Sub(l.lastSync) >= l.syncInterval() {
		if err := f.Sync(); err != nil {
			return err
		}
		l.dirty = false
		l.lastSync = now
	}
	return nil
}

// syncDue returns when written records are due for an fsync, or 0.
func (l *stateLog) syncDue() int64 {
	if !l.dirty || l.policy == SyncNever {
		return 0
	}
	return l.lastSync.Add(l.syncInterval()).UnixNano()
}

func (l *stateLog) needsCompaction() bool { return l.size > compactAt }

// close writes, fsyncs and closes the log.
func (l *stateLog) close() error {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	openStateFiles.Closed(l)
	f := l.f
	if f == nil {
		if !l.parked || len(l.buf) == 0 {
			// Parked with nothing unsynced, or closed already.
			l.parked = false
			return nil
		}
		var err error
		if f, err = store.Disk.OpenFile(filepath.Join(l.dir, consumerLogFile), os.O_WRONLY|os.O_APPEND, 0o640); err != nil {
			return err
		}
	}
	var first error
	if len(l.buf) > 0 {
		if _, err := f.Write(l.buf); err != nil {
			first = err
		}
		l.buf = nil
	}
	if err := f.Sync(); err != nil && first == nil {
		first = err
	}
	if err := f.Close(); err != nil && first == nil {
		first = err
	}
	l.f, l.parked = nil, false
	return first
}

// abandon closes the log without writing what it buffered: a newer
// snapshot covers it, or the log's tail is in doubt after a failure.
func (l *stateLog) abandon() {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	openStateFiles.Closed(l)
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	l.parked = false
	l.buf = nil
}

// dropBuffered forgets the records not yet written and any fsync they
// wait for: a rewrite of the whole state replaces them.
func (l *stateLog) dropBuffered() {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	l.buf = l.buf[:0]
	l.dirty = false
}

// startLog replaces the log with an empty one of generation gen.
func startLog(dir string, gen uint64, policy SyncPolicy, every time.Duration) (*stateLog, error) {
	l := &stateLog{dir: dir, gen: gen, policy: policy, every: every, lastSync: time.Now()}
	l.record(recLogHeader, gen)
	path := filepath.Join(dir, consumerLogFile)
	if err := store.WriteFileAtomic(path, l.buf); err != nil {
		return nil, err
	}
	l.size = int64(len(l.buf))
	l.buf = l.buf[:0]
	f, err := store.Disk.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	l.fmu.Lock()
	l.f = f
	openStateFiles.Opened(l)
	l.fmu.Unlock()
	return l, nil
}

// snapshot captures the delivery state. mu is held.
func (c *consumer) snapshot(gen uint64) consumerSnapshot {
	s := consumerSnapshot{Gen: gen, DSeq: c.dseq, SSeq: c.sseq}
	if c.lps != nil {
		s.LPSEnd = c.lpsEnd
	}
	for seq, p := range c.pending {
		s.Pending = append(s.Pending, [4]uint64{seq, p.cseq, p.deliveries, uint64(p.ts)})
	}
	for seq := range c.held {
		if c.st.store.Count(seq, seq) == 1 { // else deleted meanwhile
			s.Held = append(s.Held, seq)
		}
	}
	return s
}

func writeSnapshot(dir string, s consumerSnapshot) error {
	b, err := json.Marshal(&s)
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(dir, consumerSnapFile), b)
}

// compact writes a snapshot and starts a new log. It runs on the
// consumer's goroutine, after a flush; a failure stops the use of the old
// log until the state can be written again (consumer_fault.go).
func (c *consumer) compact(now time.Time) {
	if err := c.rewriteState(); err != nil {
		c.stateFailed(err, now)
	}
}

// initState writes a new durable consumer's files: its config and its
// starting position.
func (c *consumer) initState() error {
	if err := store.MkdirAll(c.dir, 0o750); err != nil {
		return err
	}
	if err := c.saveMeta(); err != nil {
		return err
	}
	if err := writeSnapshot(c.dir, c.snapshot(0)); err != nil {
		return err
	}
	l, err := startLog(c.dir, 1, c.js.cfg.Sync, c.js.cfg.SyncEvery)
	if err != nil {
		return err
	}
	c.log = l
	return nil
}

// removeConsumerDir removes a deleted consumer's directory so that a
// power cut at any point leaves it whole or gone: its configuration goes
// first, durably (a directory without one is a creation that did not
// finish, dropped at start), then the rest, and the removal is made
// durable in the stream's directory.
func removeConsumerDir(dir string) error {
	err := store.Disk.Remove(filepath.Join(dir, consumerMetaFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := store.SyncDir(dir); err != nil {
		return err
	}
	if err := store.RemoveAll(dir); err != nil {
		return err
	}
	return store.SyncDir(filepath.Dir(dir))
}

// saveMeta writes consumer.json.
func (c *consumer) saveMeta() error {
	b, err := json.MarshalIndent(&consumerMeta{Config: c.cfg, Created: c.created, Owner: c.owner}, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(c.dir, consumerMetaFile), b)
}

// loadState restores a durable consumer's delivery state from its
// snapshot and log, and opens the log for appending.
func (c *consumer) loadState() error {
	var snap consumerSnapshot
	b, err := os.ReadFile(filepath.Join(c.dir, consumerSnapFile))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &snap); err != nil {
			return fmt.Errorf("decode %s: %w", consumerSnapFile, err)
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return err
	}
	c.dseq, c.sseq = snap.DSeq, max(snap.SSeq, 1)
	for _, p := range snap.Pending {
		if c.cfg.AckPolicy != AckNone {
			c.pending[p[0]] = &pendingMsg{cseq: p[1], deliveries: p[2], ts: int64(p[3])}
		}
	}
	c.lpsEnd = snap.LPSEnd
	for _, seq := range snap.Held {
		c.holdRestored(seq)
	}

	path := filepath.Join(c.dir, consumerLogFile)
	gen, good, err := c.replayLog(path, snap.Gen)
	if err != nil {
		return err
	}
	if gen <= snap.Gen {
		// Missing or stale: start a fresh log.
		l, err := startLog(c.dir, snap.Gen+1, c.js.cfg.Sync, c.js.cfg.SyncEvery)
		if err != nil {
			return err
		}
		c.log = l
		return nil
	}
	f, err := store.Disk.OpenFile(path, os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > good {
		c.js.log.Warn("consumer state log has a damaged tail; cutting it", "stream", c.st.name,
			"consumer", c.name, "kept", good, "dropped", fi.Size()-good)
		if err := f.Truncate(good); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	l := &stateLog{dir: c.dir, f: f, gen: gen, size: good, policy: c.js.cfg.Sync, every: c.js.cfg.SyncEvery, lastSync: time.Now()}
	l.fmu.Lock()
	openStateFiles.Opened(l)
	l.fmu.Unlock()
	c.log = l
	return nil
}

// replayLog applies the log's records when it is newer than the snapshot.
// It returns the log's generation (0 when there is none) and the length of
// its undamaged prefix.
func (c *consumer) replayLog(path string, snapGen uint64) (gen uint64, good int64, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	off := 0
	first := true
	for off+8 <= len(b) {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		sum := binary.LittleEndian.Uint32(b[off+4:])
		if n == 0 || off+8+n > len(b) {
			break
		}
		payload := b[off+8 : off+8+n]
		if store.Checksum(payload) != sum {
			break
		}
		vals, ok := decodeRecord(payload[1:])
		if !ok {
			break
		}
		typ := payload[0]
		if first {
			if typ != recLogHeader || len(vals) != 1 {
				return 0, 0, nil
			}
			gen = vals[0]
			first = false
			if gen <= snapGen {
				return gen, 0, nil
			}
		} else {
			c.applyRecord(typ, vals)
		}
		off += 8 + n
	}
	return gen, int64(off), nil
}

func decodeRecord(b []byte) ([]uint64, bool) {
	var vals []uint64
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, false
		}
		vals = append(vals, v)
		b = b[n:]
	}
	return vals, true
}

// applyRecord replays one log record onto the state.
func (c *consumer) applyRecord(typ byte, v []uint64) {
	switch {
	case typ == recDeliver && len(v) == 4:
		c.dseq = max(c.dseq, v[1])
		c.sseq = max(c.sseq, v[0]+1)
		if c.cfg.AckPolicy != AckNone {
			c.pending[v[0]] = &pendingMsg{cseq: v[1], deliveries: v[2], ts: int64(v[3])}
		}
	case typ == recAck && len(v) == 1:
		delete(c.pending, v[0])
	case typ == recAckAll && len(v) == 1:
		for s := range c.pending {
			if s <= v[0] {
				delete(c.pending, s)
			}
		}
	case typ == recHold && len(v) == 1:
		c.holdRestored(v[0])
	case typ == recRelease && len(v) == 1:
		delete(c.held, v[0])
	}
}

// holdRestored restores the hold of a message given up on.
func (c *consumer) holdRestored(seq uint64) {
	if c.held == nil {
		c.held = make(map[uint64]struct{})
	}
	c.held[seq] = struct{}{}
}
