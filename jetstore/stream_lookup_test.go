package jetstore

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// readCounter counts the messages a store hands out.
type readCounter struct {
	store.Store
	read atomic.Int64
}

func (r *readCounter) Load(seq uint64) (store.StoredMsg, error) {
	r.read.Add(1)
	return r.Store.Load(seq)
}

func (r *readCounter) Scan(from uint64, fn func(store.StoredMsg) bool) error {
	return r.Store.Scan(from, func(m store.StoredMsg) bool {
		r.read.Add(1)
		return fn(m)
	})
}

// countReads wraps the stream's store in a readCounter, on the writer
// goroutine so that nothing reads the field meanwhile.
func countReads(t *testing.T, st *stream) *readCounter {
	t.Helper()
	var rc *readCounter
	st.do(func() {
		rc = &readCounter{Store: st.store}
		st.store = rc
	})
	return rc
}

// bruteLast and bruteNext answer by reading every message, as the lookups
// did before the subject index answered them.
func bruteLast(st *stream, filter string) uint64 {
	var best uint64
	st.store.Scan(1, func(m store.StoredMsg) bool {
		if protocol.MatchLiteral(m.Subject, filter) {
			best = m.Seq
		}
		return true
	})
	return best
}

func bruteNext(st *stream, filter string, from uint64) uint64 {
	var seq uint64
	st.store.Scan(from, func(m store.StoredMsg) bool {
		if protocol.MatchLiteral(m.Subject, filter) {
			seq = m.Seq
			return false
		}
		return true
	})
	return seq
}

// TestSubjectLookups checks last_by_subj and next_by_subj against a scan
// of every message, after deletes of first, last and middle messages of
// subjects and a per-subject limit, and that a subject the stream does not
// hold, or one whose bounds are known, is answered without reading
// through the stream.
func TestSubjectLookups(t *testing.T) {
	e := newFuzzEnv(t)
	e.mustOK(t, "STREAM.CREATE.L", `{"name":"L","subjects":["l.>"],"max_msgs_per_subject":6}`)
	subjects := []string{"l.a", "l.b", "l.c.x", "l.c.y", "l.d"}
	for i := range 120 {
		// l.d only early on, so its span ends long before the stream's.
		subj := subjects[i%4]
		if i < 20 && i%5 == 0 {
			subj = "l.d"
		}
		if pa := e.publishOneTo(t, subj, nil, []byte(strconv.Itoa(i))); pa.Error != nil {
			t.Fatalf("publish %d: %+v", i, pa.Error)
		}
	}
	st := e.js.lookup("L")
	// Delete the last message of l.a, the first left of l.b, and one in
	// the middle of l.c.x.
	for _, f := range []string{"l.a", "l.b"} {
		first, last := st.subjectBounds(f)
		seq := last
		if f == "l.b" {
			seq = first
		}
		e.mustOK(t, "STREAM.MSG.DELETE.L", fmt.Sprintf(`{"seq":%d}`, seq))
	}
	first, last := st.subjectBounds("l.c.x")
	mid := bruteNext(st, "l.c.x", (first+last)/2)
	e.mustOK(t, "STREAM.MSG.DELETE.L", fmt.Sprintf(`{"seq":%d}`, mid))

	filters := []string{"l.a", "l.b", "l.c.x", "l.c.y", "l.d", "l.none", "l.*", "l.c.*", "l.>", "l.*.y", "x.>", ">"}
	state := st.store.State()
	for _, f := range filters {
		if got, want := st.lastBySubject(f), bruteLast(st, f); got != want {
			t.Errorf("lastBySubject(%q) = %d; want %d", f, got, want)
		}
		for from := state.FirstSeq; from <= state.LastSeq+1; from++ {
			want := bruteNext(st, f, from)
			m, ok := st.nextBySubject(f, from)
			if got := map[bool]uint64{true: m.Seq}[ok]; got != want {
				t.Errorf("nextBySubject(%q, %d) = %d, %v; want %d", f, from, m.Seq, ok, want)
			}
		}
	}

	rc := countReads(t, st)
	for _, f := range []string{"l.none", "l.none.>", "x.y"} {
		for _, op := range []string{"last", "next"} {
			rc.read.Store(0)
			if op == "last" {
				st.lastBySubject(f)
			} else {
				st.nextBySubject(f, 1)
			}
			if n := rc.read.Load(); n != 0 {
				t.Errorf("%s of %q, which the stream does not hold, read %d messages; want 0", op, f, n)
			}
		}
	}
	// Bounds once looked up are kept: a second lookup loads one message.
	for _, f := range []string{"l.a", "l.b", "l.c.y", "l.d"} {
		e.request(t, "STREAM.MSG.GET.L", []byte(`{"last_by_subj":"`+f+`"}`))
		rc.read.Store(0)
		_, replies := e.request(t, "STREAM.MSG.GET.L", []byte(`{"last_by_subj":"`+f+`"}`))
		if isErr, err := checkAPIReply(replies[0].Data); isErr || err != nil {
			t.Fatalf("get last of %s: %s", f, replies[0].Data)
		}
		if n := rc.read.Load(); n != 1 {
			t.Errorf("get last of %q read %d messages; want 1", f, n)
		}
	}
}
