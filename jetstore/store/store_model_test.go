package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestStoreModel applies random operations to each store and to a plain
// map, restarting now and then, and compares them after every step.
func TestStoreModel(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		rng := rand.New(rand.NewPCG(1, uint64(len(h.kind.name))))
		m := newModelStore()
		steps := 600
		if testing.Short() {
			steps = 150
		}
		for step := range steps {
			var op string
			var errS, errM error
			switch r := rng.IntN(100); {
			case r < 45:
				n := 1 + rng.IntN(6)
				ms := testMsgs(m.last+1, n)
				for i := range ms {
					ms[i].Time = rng.Int64N(1 << 40)
					ms[i].Data = bytes.Repeat([]byte{byte(i)}, rng.IntN(200))
				}
				op = fmt.Sprintf("Append(%d..%d)", ms[0].Seq, ms[n-1].Seq)
				errS, errM = h.s.Append(ms), m.Append(ms)
			case r < 80:
				seqs := make([]uint64, 1+rng.IntN(3))
				for i := range seqs {
					seqs[i] = m.first + uint64(rng.IntN(int(m.last-m.first+3)))
				}
				op = fmt.Sprintf("Delete(%v)", seqs)
				errS, errM = h.s.Delete(seqs...), m.Delete(seqs...)
			case r < 93:
				first := m.first + uint64(rng.IntN(12))
				if rng.IntN(10) == 0 {
					first = m.last + 1 + uint64(rng.IntN(5))
				}
				op = fmt.Sprintf("TruncateFront(%d)", first)
				errS, errM = h.s.TruncateFront(first), m.TruncateFront(first)
			default:
				op = "restart"
				h.restart()
			}
			if !errors.Is(errS, errM) || (errS == nil) != (errM == nil) {
				t.Fatalf("step %d %s: store err %v; model err %v", step, op, errS, errM)
			}
			if got, want := h.s.State(), m.State(); got != want {
				t.Fatalf("step %d %s: state %+v; want %+v", step, op, got, want)
			}
			for range 3 {
				from := uint64(rng.IntN(int(m.last + 3)))
				to := from + uint64(rng.IntN(int(m.last+3)))
				if got, want := h.s.Count(from, to), m.Count(from, to); got != want {
					t.Fatalf("step %d %s: Count(%d, %d) = %d; want %d", step, op, from, to, got, want)
				}
			}
			if ws, ok := h.s.(*walStore); ok {
				checkWALInvariants(t, ws)
			}
			if step%25 == 0 {
				got, want := h.scanAll(0), m.seqs()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("step %d %s: Scan = %v; want %v", step, op, got, want)
				}
				for _, seq := range want {
					h.wantMsg(m.msgs[seq])
				}
			}
		}
	})
}

// modelStore is the obvious map-based Store, as a test oracle.
type modelStore struct {
	msgs        map[uint64]StoredMsg
	first, last uint64
	lastTime    int64
}

func newModelStore() *modelStore {
	return &modelStore{msgs: map[uint64]StoredMsg{}, first: 1}
}

func (m *modelStore) Append(ms []StoredMsg) error {
	for i, x := range ms {
		if x.Seq != m.last+1+uint64(i) {
			return ErrBadSeq
		}
	}
	for _, x := range ms {
		m.msgs[x.Seq] = cloneStoredMsg(&x)
		m.last, m.lastTime = x.Seq, x.Time
	}
	m.settle()
	return nil
}

func (m *modelStore) Delete(seqs ...uint64) error {
	for _, seq := range seqs {
		if _, ok := m.msgs[seq]; !ok {
			return ErrMsgNotFound
		}
	}
	for _, seq := range seqs {
		delete(m.msgs, seq)
	}
	m.settle()
	return nil
}

func (m *modelStore) TruncateFront(first uint64) error {
	if first <= m.first {
		return nil
	}
	for seq := range m.msgs {
		if seq < first {
			delete(m.msgs, seq)
		}
	}
	m.last = max(m.last, first-1)
	m.first = first
	m.settle()
	return nil
}

// settle moves first to the lowest stored seq, or past the end.
func (m *modelStore) settle() {
	for m.first <= m.last {
		if _, ok := m.msgs[m.first]; ok {
			return
		}
		m.first++
	}
}

func (m *modelStore) Count(from, to uint64) uint64 {
	var n uint64
	for seq := range m.msgs {
		if seq >= from && seq <= to {
			n++
		}
	}
	return n
}

func (m *modelStore) seqs() []uint64 {
	var out []uint64
	for seq := m.first; seq <= m.last; seq++ {
		if _, ok := m.msgs[seq]; ok {
			out = append(out, seq)
		}
	}
	return out
}

func (m *modelStore) State() StoreState {
	st := StoreState{Msgs: uint64(len(m.msgs)), FirstSeq: m.first, LastSeq: m.last, LastTime: m.lastTime}
	for _, x := range m.msgs {
		st.Bytes += x.Size()
	}
	if x, ok := m.msgs[m.first]; ok {
		st.FirstTime = x.Time
		st.NumDeleted = int(m.last-m.first+1) - len(m.msgs)
	}
	return st
}
