package jetstore

import (
	"container/heap"
	"math"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Header names the stream layer reads and writes.
const (
	hdrMsgID            = "Nats-Msg-Id"
	hdrExpectedStream   = "Nats-Expected-Stream"
	hdrExpectedLastSeq  = "Nats-Expected-Last-Sequence"
	hdrExpectedLastSubj = "Nats-Expected-Last-Subject-Sequence"
	hdrExpectedSubjSubj = "Nats-Expected-Last-Subject-Sequence-Subject"
	hdrExpectedLastID   = "Nats-Expected-Last-Msg-Id"
	hdrTTL              = "Nats-TTL"
	hdrRollup           = "Nats-Rollup"
)

// subjectState is what the stream knows of one subject: how many messages
// it holds and the first and last of them. first (last) is 0 when it must
// be looked up again (its message was removed); lo and hi always bound
// where the subject's messages lie, so the lookup reads only that span.
type subjectState struct {
	msgs        uint64
	first, last uint64
	lo, hi      uint64
}

// dedupIndex remembers recent Nats-Msg-Id values and the sequence each was
// stored at, for the duplicate window.
type dedupIndex struct {
	ids   map[string]dedupVal
	order []dedupEntry // in arrival order
	head  int
}

type dedupEntry struct {
	id string
	ts int64
}

type dedupVal struct {
	seq uint64
	ts  int64
}

// get returns the sequence id was stored at, if that was at or after cutoff
// (unix nanoseconds): an id older than the window is not a duplicate even
// before the next expire forgets it.
func (d *dedupIndex) get(id []byte, cutoff int64) (uint64, bool) {
	v, ok := d.ids[string(id)]
	if !ok || v.ts < cutoff {
		return 0, false
	}
	return v.seq, true
}

func (d *dedupIndex) add(id string, seq uint64, ts int64) {
	if d.ids == nil {
		d.ids = make(map[string]dedupVal)
	}
	d.ids[id] = dedupVal{seq, ts}
	d.order = append(d.order, dedupEntry{id, ts})
}

// expire forgets ids stored before cutoff.
func (d *dedupIndex) expire(cutoff int64) {
	for d.head < len(d.order) && d.order[d.head].ts < cutoff {
		e := d.order[d.head]
		if v, ok := d.ids[e.id]; ok && v.ts == e.ts {
			delete(d.ids, e.id)
		}
		d.head++
	}
	if d.head > 1024 && d.head > len(d.order)/2 {
		d.order = append([]dedupEntry(nil), d.order[d.head:]...)
		d.head = 0
	}
}

func (d *dedupIndex) reset() {
	*d = dedupIndex{}
}

// ttlHeap orders messages with a Nats-TTL by expiry.
type ttlHeap []ttlEntry

type ttlEntry struct {
	at  int64
	seq uint64
}

func (h ttlHeap) Len() int           { return len(h) }
func (h ttlHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h ttlHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ttlHeap) Push(x any)        { *h = append(*h, x.(ttlEntry)) }
func (h *ttlHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// parseTTL reads a Nats-TTL value: a Go duration, or whole seconds; "never"
// is no expiry (0).
func parseTTL(v []byte) (time.Duration, bool) {
	s := string(v)
	if s == "never" {
		return 0, true
	}
	if n, ok := parseUint(v); ok {
		if n > math.MaxInt64/uint64(time.Second) {
			return math.MaxInt64, true // beyond what nanoseconds hold: never in practice
		}
		return time.Duration(n) * time.Second, n > 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, false
	}
	return d, true
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// noteStored adds a stored message to the indexes. st.mu is held.
func (st *stream) noteStored(m *store.StoredMsg) {
	ss := st.subjects[m.Subject]
	if ss == nil {
		ss = &subjectState{first: m.Seq, lo: m.Seq}
		st.subjects[m.Subject] = ss
	}
	ss.msgs++
	ss.last, ss.hi = m.Seq, m.Seq
	if m.Header == nil {
		return
	}
	if id := protocol.HeaderGet(m.Header, hdrMsgID); len(id) > 0 {
		st.dedup.add(string(id), m.Seq, m.Time)
		st.lastMsgID = string(id)
	}
	if v := protocol.HeaderGet(m.Header, hdrTTL); len(v) > 0 {
		if d, ok := parseTTL(v); ok && d > 0 {
			at := m.Time + int64(d)
			if at < m.Time {
				at = math.MaxInt64 // past the end of time, not before now
			}
			heap.Push(&st.ttls, ttlEntry{at: at, seq: m.Seq})
		}
	}
}

// noteRemoved takes a removed message out of the subject index. st.mu is
// held.
func (st *stream) noteRemoved(subject string, seq uint64) {
	ss := st.subjects[subject]
	if ss == nil {
		return
	}
	if ss.msgs <= 1 {
		delete(st.subjects, subject)
		return
	}
	st.removals++
	ss.msgs--
	if seq == ss.first || seq == ss.lo {
		ss.first, ss.lo = 0, seq+1
	}
	if seq == ss.last || seq == ss.hi {
		ss.last, ss.hi = 0, seq-1
	}
}

// subjectBounds returns the first and last stored sequence of subject,
// looking them up again, within the span the index bounds them to, when a
// removal made them unknown. Any goroutine may call it: what it looked up
// is kept only if no removal ran meanwhile.
func (st *stream) subjectBounds(subject string) (first, last uint64) {
	st.mu.RLock()
	ss := st.subjects[subject]
	if ss == nil {
		st.mu.RUnlock()
		return 0, 0
	}
	first, last = ss.first, ss.last
	lo, hi, gen := ss.lo, ss.hi, st.removals
	st.mu.RUnlock()
	if first != 0 && last != 0 {
		return first, last
	}
	var f, l uint64
	st.store.Scan(lo, func(m store.StoredMsg) bool {
		if m.Seq > hi {
			return false
		}
		if m.Subject == subject {
			if f == 0 {
				f = m.Seq
			}
			l = m.Seq
		}
		return true
	})
	if first == 0 {
		first = f
	}
	if last == 0 {
		last = l
	}
	st.mu.Lock()
	if cur := st.subjects[subject]; cur == ss && st.removals == gen {
		if ss.first == 0 && first != 0 {
			ss.first, ss.lo = first, first
		}
		if ss.last == 0 && last != 0 && ss.hi == hi {
			ss.last = last
		}
	}
	st.mu.Unlock()
	return first, last
}

// rebuildIndexes reads the whole store to rebuild the subject index, the
// duplicate window and the TTL schedule.
func (st *stream) rebuildIndexes() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.subjects = make(map[string]*subjectState)
	st.dedup.reset()
	st.ttls = st.ttls[:0]
	st.lastMsgID = ""
	cutoff := time.Now().Add(-st.config.Duplicates).UnixNano()
	err := st.store.Scan(st.store.State().FirstSeq, func(m store.StoredMsg) bool {
		st.noteStored(&m)
		return true
	})
	st.dedup.expire(cutoff)
	return err
}
