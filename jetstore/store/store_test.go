package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// storeKind is one Store implementation under the contract tests.
type storeKind struct {
	name string
	open func(t *testing.T, dir string) Store // nil dir: in memory
	// durable kinds are closed and reopened by restart.
	durable bool
}

func walKind(name string, o Options) storeKind {
	return storeKind{name: name, durable: true, open: func(t *testing.T, dir string) Store {
		t.Helper()
		o := o
		o.Dir = dir
		o.Logger = discardLogger()
		s, err := OpenWAL(o)
		if err != nil {
			t.Fatalf("OpenWAL: %v", err)
		}
		return s
	}}
}

var storeKinds = []storeKind{
	{name: "mem", open: func(*testing.T, string) Store { return NewMemStore() }},
	walKind("wal", Options{}),
	walKind("wal-s2", Options{Compression: CompressS2}),
	// Segments of a few blocks, so truncation drops segment files.
	walKind("wal-smallseg", Options{SegmentSize: 512, ReadCacheSize: 1}),
}

// storeHarness holds the store under test and can restart it.
type storeHarness struct {
	t    *testing.T
	kind storeKind
	dir  string
	s    Store
}

// forEachStore runs fn against every store kind.
func forEachStore(t *testing.T, fn func(t *testing.T, h *storeHarness)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			h := &storeHarness{t: t, kind: k, dir: t.TempDir()}
			h.s = k.open(t, h.dir)
			t.Cleanup(func() { h.s.Close() })
			fn(t, h)
		})
	}
}

// restart closes and reopens a durable store and checks that its state
// survived; an in-memory store is left alone.
func (h *storeHarness) restart() {
	h.t.Helper()
	if !h.kind.durable {
		return
	}
	before := h.s.State()
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.s = h.kind.open(h.t, h.dir)
	if after := h.s.State(); after != before {
		h.t.Fatalf("state after restart = %+v; want %+v", after, before)
	}
}

// msgs builds n messages from seq on, with distinct contents.
func testMsgs(seq uint64, n int) []StoredMsg {
	out := make([]StoredMsg, n)
	for i := range out {
		s := seq + uint64(i)
		out[i] = StoredMsg{
			Seq:     s,
			Time:    int64(1_700_000_000_000_000_000 + s*1000),
			Subject: fmt.Sprintf("sensors.plant1.line%d.temp", s%7),
			Data:    []byte(fmt.Sprintf("reading %d: %s", s, strings.Repeat("x", int(s%13)))),
		}
		if s%3 == 0 {
			out[i].Header = []byte(fmt.Sprintf("NATS/1.0\r\nNats-Msg-Id: id-%d\r\n\r\n", s))
		}
	}
	return out
}

func (h *storeHarness) append(seq uint64, n int) []StoredMsg {
	h.t.Helper()
	ms := testMsgs(seq, n)
	if err := h.s.Append(ms); err != nil {
		h.t.Fatalf("Append(seq %d, %d msgs): %v", seq, n, err)
	}
	return ms
}

func sameMsg(a, b StoredMsg) bool {
	return a.Seq == b.Seq && a.Time == b.Time && a.Subject == b.Subject &&
		bytes.Equal(a.Header, b.Header) && bytes.Equal(a.Data, b.Data)
}

func (h *storeHarness) wantMsg(want StoredMsg) {
	h.t.Helper()
	got, err := h.s.Load(want.Seq)
	if err != nil {
		h.t.Fatalf("Load(%d): %v", want.Seq, err)
	}
	if !sameMsg(got, want) {
		h.t.Fatalf("Load(%d) = %+v; want %+v", want.Seq, got, want)
	}
}

func (h *storeHarness) wantGone(seqs ...uint64) {
	h.t.Helper()
	for _, seq := range seqs {
		if _, err := h.s.Load(seq); !errors.Is(err, ErrMsgNotFound) {
			h.t.Fatalf("Load(%d) err = %v; want ErrMsgNotFound", seq, err)
		}
	}
}

// scanAll returns the seqs Scan visits from from.
func (h *storeHarness) scanAll(from uint64) []uint64 {
	h.t.Helper()
	var seqs []uint64
	if err := h.s.Scan(from, func(m StoredMsg) bool {
		seqs = append(seqs, m.Seq)
		return true
	}); err != nil {
		h.t.Fatalf("Scan(%d): %v", from, err)
	}
	return seqs
}

func TestStoreAppendLoad(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		var all []StoredMsg
		all = append(all, h.append(1, 1)...)
		all = append(all, h.append(2, 100)...)
		all = append(all, h.append(102, 7)...)
		for _, m := range all {
			h.wantMsg(m)
		}
		h.wantGone(0, 109, 1<<60)
		h.restart()
		for _, m := range all {
			h.wantMsg(m)
		}
		got, _ := h.s.Load(1)
		if got.Header != nil {
			t.Errorf("Load(1).Header = %q; want nil", got.Header)
		}
	})
}

func TestStoreAppendCopiesInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		ms := testMsgs(1, 3)
		want := testMsgs(1, 3)
		if err := h.s.Append(ms); err != nil {
			t.Fatal(err)
		}
		for i := range ms {
			for j := range ms[i].Data {
				ms[i].Data[j] = '!'
			}
			for j := range ms[i].Header {
				ms[i].Header[j] = '!'
			}
		}
		for _, m := range want {
			h.wantMsg(m)
		}
	})
}

func TestStoreEmptyValues(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		in := []StoredMsg{
			{Seq: 1, Time: -5, Subject: "a"},
			{Seq: 2, Time: 0, Subject: "", Header: []byte{}, Data: []byte{}},
			{Seq: 3, Time: 1 << 62, Subject: "b", Data: make([]byte, 70_000)},
		}
		if err := h.s.Append(in); err != nil {
			t.Fatal(err)
		}
		h.restart()
		for _, m := range in {
			h.wantMsg(m)
		}
		got, _ := h.s.Load(2)
		if got.Header != nil || got.Data != nil {
			t.Errorf("Load(2) = %+v; want nil Header and Data", got)
		}
	})
}

func TestStoreSeqRules(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint64
		werr error
	}{
		{"first must be 1", []uint64{2}, ErrBadSeq},
		{"zero", []uint64{0}, ErrBadSeq},
		{"gap inside batch", []uint64{1, 2, 4}, ErrBadSeq},
		{"repeat inside batch", []uint64{1, 1}, ErrBadSeq},
		{"descending", []uint64{2, 1}, ErrBadSeq},
		{"empty is a no-op", nil, nil},
		{"ok", []uint64{1, 2, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, h *storeHarness) {
				var ms []StoredMsg
				for _, seq := range tt.seqs {
					ms = append(ms, StoredMsg{Seq: seq, Subject: "s"})
				}
				err := h.s.Append(ms)
				if !errors.Is(err, tt.werr) || (tt.werr == nil) != (err == nil) {
					t.Fatalf("Append(%v) = %v; want %v", tt.seqs, err, tt.werr)
				}
				wantLast := uint64(0)
				if err == nil {
					wantLast = uint64(len(ms))
				}
				if st := h.s.State(); st.LastSeq != wantLast || st.Msgs != wantLast {
					t.Fatalf("after Append(%v): state %+v; want LastSeq=Msgs=%d", tt.seqs, st, wantLast)
				}
			})
		})
	}
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		h.append(1, 5)
		for _, seq := range []uint64{1, 5, 7} {
			if err := h.s.Append(testMsgs(seq, 1)); !errors.Is(err, ErrBadSeq) {
				t.Errorf("Append(seq %d) after 1..5 = %v; want ErrBadSeq", seq, err)
			}
		}
		h.append(6, 1)
	})
}

func TestStoreTooLarge(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		big := []StoredMsg{{Seq: 1, Subject: "big", Data: make([]byte, MaxBlockSize)}}
		if err := h.s.Append(big); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Append(%d bytes) = %v; want ErrTooLarge", MaxBlockSize, err)
		}
		h.append(1, 1)
	})
}

func TestStoreDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		ms := h.append(1, 10)
		before := h.s.State()
		if err := h.s.Delete(5, 3); err != nil {
			t.Fatalf("Delete(5, 3): %v", err)
		}
		h.wantGone(3, 5)
		st := h.s.State()
		wantBytes := before.Bytes - ms[2].Size() - ms[4].Size()
		if st.Msgs != 8 || st.NumDeleted != 2 || st.Bytes != wantBytes || st.FirstSeq != 1 || st.LastSeq != 10 {
			t.Fatalf("after Delete(5, 3): %+v; want Msgs 8, NumDeleted 2, Bytes %d, 1..10", st, wantBytes)
		}
		h.restart()
		h.wantGone(3, 5)

		// All or nothing.
		for _, seqs := range [][]uint64{{4, 5}, {4, 11}, {0}, {4, 4, 3}} {
			if err := h.s.Delete(seqs...); !errors.Is(err, ErrMsgNotFound) {
				t.Fatalf("Delete(%v) = %v; want ErrMsgNotFound", seqs, err)
			}
		}
		h.wantMsg(ms[3])
		if got := h.s.State(); got != st {
			t.Fatalf("state after failed deletes = %+v; want %+v", got, st)
		}

		// Duplicates are one delete; the front moves past holes.
		if err := h.s.Delete(2, 1, 2, 4); err != nil {
			t.Fatalf("Delete(2, 1, 2, 4): %v", err)
		}
		st = h.s.State()
		if st.FirstSeq != 6 || st.FirstTime != ms[5].Time || st.NumDeleted != 0 || st.Msgs != 5 {
			t.Fatalf("after deleting 1..5: %+v; want FirstSeq 6, FirstTime %d, no holes, 5 msgs", st, ms[5].Time)
		}
		h.restart()

		// The last message goes but LastSeq stays.
		if err := h.s.Delete(10); err != nil {
			t.Fatal(err)
		}
		st = h.s.State()
		if st.LastSeq != 10 || st.LastTime != ms[9].Time || st.NumDeleted != 1 || st.Msgs != 4 {
			t.Fatalf("after Delete(10): %+v", st)
		}
		h.restart()
		if err := h.s.Delete(6, 7, 8, 9); err != nil {
			t.Fatal(err)
		}
		want := StoreState{FirstSeq: 11, LastSeq: 10, LastTime: ms[9].Time}
		if st := h.s.State(); st != want {
			t.Fatalf("after deleting all: %+v; want %+v", st, want)
		}
		h.restart()
		h.append(11, 2)
		if st := h.s.State(); st.FirstSeq != 11 || st.Msgs != 2 {
			t.Fatalf("after appending to an emptied store: %+v", st)
		}
	})
}

func TestStoreTruncateFront(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		var ms []StoredMsg
		for seq := uint64(1); seq <= 50; seq += 10 {
			ms = append(ms, h.append(seq, 10)...)
		}
		if err := h.s.Delete(16, 17, 30); err != nil {
			t.Fatal(err)
		}
		// Into the middle of a block, just before a hole.
		if err := h.s.TruncateFront(16); err != nil {
			t.Fatal(err)
		}
		st := h.s.State()
		var wantBytes uint64
		for _, m := range ms[17:] {
			if m.Seq != 30 {
				wantBytes += m.Size()
			}
		}
		want := StoreState{Msgs: 32, Bytes: wantBytes, FirstSeq: 18, LastSeq: 50,
			FirstTime: ms[17].Time, LastTime: ms[49].Time, NumDeleted: 1}
		if st != want {
			t.Fatalf("after TruncateFront(16): %+v; want %+v", st, want)
		}
		h.wantGone(1, 15, 16, 17)
		h.wantMsg(ms[17])
		h.restart()
		h.wantGone(15)

		// At or below FirstSeq: no-op.
		for _, first := range []uint64{0, 1, 18} {
			if err := h.s.TruncateFront(first); err != nil {
				t.Fatal(err)
			}
		}
		if got := h.s.State(); got != want {
			t.Fatalf("after no-op truncations: %+v; want %+v", got, want)
		}

		// Exactly to LastSeq+1 empties the store.
		if err := h.s.TruncateFront(51); err != nil {
			t.Fatal(err)
		}
		want = StoreState{FirstSeq: 51, LastSeq: 50, LastTime: ms[49].Time}
		if st := h.s.State(); st != want {
			t.Fatalf("after TruncateFront(51): %+v; want %+v", st, want)
		}
		h.restart()

		// Past the end moves LastSeq; Append continues there.
		if err := h.s.TruncateFront(1000); err != nil {
			t.Fatal(err)
		}
		want = StoreState{FirstSeq: 1000, LastSeq: 999, LastTime: ms[49].Time}
		if st := h.s.State(); st != want {
			t.Fatalf("after TruncateFront(1000): %+v; want %+v", st, want)
		}
		h.restart()
		if err := h.s.Append(testMsgs(51, 1)); !errors.Is(err, ErrBadSeq) {
			t.Fatalf("Append(51) after TruncateFront(1000) = %v; want ErrBadSeq", err)
		}
		more := h.append(1000, 3)
		h.restart()
		for _, m := range more {
			h.wantMsg(m)
		}
		if got := h.scanAll(0); fmt.Sprint(got) != "[1000 1001 1002]" {
			t.Fatalf("Scan = %v", got)
		}
	})
}

func TestStoreTruncateFrontOnNewStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		if err := h.s.TruncateFront(100); err != nil {
			t.Fatal(err)
		}
		h.restart()
		if st := h.s.State(); st.FirstSeq != 100 || st.LastSeq != 99 || st.Msgs != 0 {
			t.Fatalf("state %+v; want empty at 100", st)
		}
		h.append(100, 2)
		h.restart()
		h.wantMsg(testMsgs(101, 1)[0])
	})
}

func TestStoreScan(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		h.append(1, 5)
		h.append(6, 5)
		if err := h.s.Delete(3, 6, 7); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			from uint64
			want string
		}{
			{0, "[1 2 4 5 8 9 10]"},
			{3, "[4 5 8 9 10]"},
			{6, "[8 9 10]"},
			{10, "[10]"},
			{11, "[]"},
		}
		for _, tt := range tests {
			if got := fmt.Sprint(h.scanAll(tt.from)); got != tt.want {
				t.Errorf("Scan(%d) = %s; want %s", tt.from, got, tt.want)
			}
		}
		// Stop early, and call the store from inside fn.
		var seen []uint64
		err := h.s.Scan(1, func(m StoredMsg) bool {
			if _, err := h.s.Load(m.Seq); err != nil {
				t.Errorf("Load(%d) inside Scan: %v", m.Seq, err)
			}
			seen = append(seen, m.Seq)
			return len(seen) < 3
		})
		if err != nil || fmt.Sprint(seen) != "[1 2 4]" {
			t.Fatalf("Scan stopping after 3 = %v, %v; want [1 2 4], nil", seen, err)
		}
		// Appending from inside fn neither deadlocks nor breaks the scan.
		next := uint64(11)
		err = h.s.Scan(0, func(m StoredMsg) bool {
			if next < 14 {
				if err := h.s.Append(testMsgs(next, 1)); err != nil {
					t.Errorf("Append inside Scan: %v", err)
				}
				next++
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if st := h.s.State(); st.LastSeq != 13 {
			t.Fatalf("LastSeq after appending in Scan = %d; want 13", st.LastSeq)
		}
	})
}

func TestStoreCount(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		if got := h.s.Count(0, 100); got != 0 {
			t.Fatalf("empty store: Count(0, 100) = %d; want 0", got)
		}
		h.append(1, 20)
		if err := h.s.Delete(5, 6, 7, 12, 20); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := h.s.TruncateFront(3); err != nil {
			t.Fatalf("TruncateFront: %v", err)
		}
		// Stored: 3, 4, 8..11, 13..19.
		tests := []struct {
			from, to, want uint64
		}{
			{0, ^uint64(0), 13},
			{1, 2, 0},
			{1, 4, 2},
			{5, 7, 0},
			{5, 8, 1},
			{4, 13, 6},
			{12, 12, 0},
			{13, 13, 1},
			{19, 30, 1},
			{20, 30, 0},
			{10, 9, 0},
		}
		check := func(when string) {
			t.Helper()
			for _, tt := range tests {
				if got := h.s.Count(tt.from, tt.to); got != tt.want {
					t.Errorf("%s: Count(%d, %d) = %d; want %d", when, tt.from, tt.to, got, tt.want)
				}
			}
		}
		check("before restart")
		h.restart()
		check("after restart")
		if err := h.s.TruncateFront(30); err != nil {
			t.Fatalf("TruncateFront: %v", err)
		}
		if got := h.s.Count(0, 100); got != 0 {
			t.Fatalf("after purge: Count(0, 100) = %d; want 0", got)
		}
	})
}

func TestStoreClose(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *storeHarness) {
		h.append(1, 3)
		if err := h.s.Recover(); err != nil {
			t.Fatalf("Recover on a store that has not failed = %v; want nil", err)
		}
		st := h.s.State()
		if err := h.s.Close(); err != nil {
			t.Fatal(err)
		}
		checks := map[string]error{
			"Close":         h.s.Close(),
			"Append":        h.s.Append(testMsgs(4, 1)),
			"Delete":        h.s.Delete(1),
			"TruncateFront": h.s.TruncateFront(2),
			"Scan":          h.s.Scan(0, func(StoredMsg) bool { return true }),
			"Recover":       h.s.Recover(),
		}
		_, checks["Load"] = h.s.Load(1)
		for name, err := range checks {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close = %v; want ErrClosed", name, err)
			}
		}
		if got := h.s.State(); got != st {
			t.Errorf("State after Close = %+v; want %+v", got, st)
		}
		if h.kind.durable {
			h.s = h.kind.open(t, h.dir)
			if got := h.s.State(); got != st {
				t.Errorf("State after reopen = %+v; want %+v", got, st)
			}
		}
	})
}
