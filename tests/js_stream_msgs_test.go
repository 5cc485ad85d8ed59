package tests

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fillPurge publishes the purge fixture: seqs 1..12 cycling over p.a, p.b,
// p.c.x (so p.a has 1,4,7,10; p.b 2,5,8,11; p.c.x 3,6,9,12).
func fillPurge(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	subjects := []string{"p.a", "p.b", "p.c.x"}
	for i := range 12 {
		mustPublish(t, js, subjects[i%3], fmt.Sprint(i+1), uint64(i+1))
	}
}

// storedSeqs returns every stored sequence, probing 1..last.
func storedSeqs(t testing.TB, s jetstream.Stream, last uint64) []uint64 {
	t.Helper()
	var seqs []uint64
	for seq := uint64(1); seq <= last; seq++ {
		_, err := s.GetMsg(jsCtx(t), seq)
		switch {
		case err == nil:
			seqs = append(seqs, seq)
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			t.Fatalf("GetMsg(%d): %v", seq, err)
		}
	}
	return seqs
}

func TestJSStreamPurge(t *testing.T) {
	tests := []struct {
		name string
		opts []jetstream.StreamPurgeOpt
		want []uint64 // stored afterwards
		sum  stateSummary
	}{
		{"all", nil, nil,
			stateSummary{FirstSeq: 13, LastSeq: 12}},
		{"subject", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject("p.a")},
			[]uint64{2, 3, 5, 6, 8, 9, 11, 12},
			stateSummary{Msgs: 8, FirstSeq: 2, LastSeq: 12, NumSubjects: 2, NumDeleted: 3}},
		{"wildcard subject", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject("p.c.*")},
			[]uint64{1, 2, 4, 5, 7, 8, 10, 11},
			stateSummary{Msgs: 8, FirstSeq: 1, LastSeq: 12, NumSubjects: 2, NumDeleted: 4}},
		{"up to sequence", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSequence(5)},
			[]uint64{5, 6, 7, 8, 9, 10, 11, 12},
			stateSummary{Msgs: 8, FirstSeq: 5, LastSeq: 12, NumSubjects: 3}},
		{"keep", []jetstream.StreamPurgeOpt{jetstream.WithPurgeKeep(3)},
			[]uint64{10, 11, 12},
			stateSummary{Msgs: 3, FirstSeq: 10, LastSeq: 12, NumSubjects: 3}},
		{"keep more than stored", []jetstream.StreamPurgeOpt{jetstream.WithPurgeKeep(100)},
			[]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
			stateSummary{Msgs: 12, FirstSeq: 1, LastSeq: 12, NumSubjects: 3}},
		{"subject and keep", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject("p.b"), jetstream.WithPurgeKeep(1)},
			[]uint64{1, 3, 4, 6, 7, 9, 10, 11, 12},
			stateSummary{Msgs: 9, FirstSeq: 1, LastSeq: 12, NumSubjects: 3, NumDeleted: 3}},
		{"subject up to sequence", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject("p.a"), jetstream.WithPurgeSequence(7)},
			[]uint64{2, 3, 5, 6, 7, 8, 9, 10, 11, 12},
			stateSummary{Msgs: 10, FirstSeq: 2, LastSeq: 12, NumSubjects: 3, NumDeleted: 1}},
	}
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		for _, tt := range tests {
			t.Run(storage.String()+"/"+tt.name, func(t *testing.T) {
				j := startJS(t, "")
				_, js := jsConnect(t, j)
				s := mustCreate(t, js, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}, Storage: storage})
				fillPurge(t, js)
				if err := s.Purge(jsCtx(t), tt.opts...); err != nil {
					t.Fatalf("Purge: %v", err)
				}
				if got := storedSeqs(t, s, 12); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("stored = %v; want %v", got, tt.want)
				}
				wantState(t, s, tt.sum)
				// The sequence carries on.
				mustPublish(t, js, "p.a", "next", 13)
			})
		}
	}
}

func TestJSStreamPurgeResponse(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}})
	fillPurge(t, js)
	var resp struct {
		Success bool `json:"success"`
		Purged  uint64
	}
	tests := []struct {
		body   string
		want   uint64
		errNum jetstream.ErrorCode
	}{
		{`{"filter":"p.a"}`, 4, 0},
		{`{"filter":"p.a"}`, 0, 0},
		{`{"keep":6}`, 2, 0},
		{`{"seq":3,"keep":1}`, 0, 10003},
		{`{"filter":"p..x"}`, 0, 10003},
		{`not json`, 0, 10025},
		{``, 6, 0},
	}
	for _, tt := range tests {
		r := rawAPI(t, nc, "STREAM.PURGE.P", tt.body)
		if got := r.code(); got != tt.errNum {
			t.Fatalf("purge %s: err_code = %d (%s); want %d", tt.body, got, r.raw, tt.errNum)
		}
		if tt.errNum != 0 {
			continue
		}
		resp.Success, resp.Purged = false, 0
		if err := jsonDecode(r.raw, &resp); err != nil {
			t.Fatal(err)
		}
		if !resp.Success || resp.Purged != tt.want {
			t.Fatalf("purge %s = %s; want success, purged %d", tt.body, r.raw, tt.want)
		}
	}
	if r := rawAPI(t, nc, "STREAM.PURGE.NOPE", nil); r.code() != 10059 {
		t.Fatalf("purge of a missing stream: %s; want err_code 10059", r.raw)
	}
}

func TestJSStreamDenyPurgeDelete(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "DENY", Subjects: []string{"deny"}, DenyPurge: true, DenyDelete: true})
	for i := range 3 {
		mustPublish(t, js, "deny", "x", uint64(i+1))
	}
	err := s.Purge(ctx)
	wantAPIErr(t, "Purge with deny_purge", err, 10083)
	err = s.Purge(ctx, jetstream.WithPurgeSubject("deny"))
	wantAPIErr(t, "Purge(subject) with deny_purge", err, 10083)
	for _, del := range []func() error{
		func() error { return s.DeleteMsg(ctx, 2) },
		func() error { return s.SecureDeleteMsg(ctx, 2) },
	} {
		if err := del(); !errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
			t.Fatalf("delete with deny_delete: err = %v; want ErrMsgDeleteUnsuccessful", err)
		}
	}
	wantState(t, s, stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 3, NumSubjects: 1})

	// Neither can be switched back off.
	for _, c := range []jetstream.StreamConfig{
		{Name: "DENY", Subjects: []string{"deny"}, DenyDelete: true},
		{Name: "DENY", Subjects: []string{"deny"}, DenyPurge: true},
	} {
		_, err := js.UpdateStream(ctx, c)
		wantAPIErr(t, "UpdateStream lifting a deny", err, 10052)
	}
}

func TestJSStreamDeleteMsg(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "D", Subjects: []string{"d.>"}})
	for i := range 6 {
		mustPublish(t, js, fmt.Sprintf("d.%d", i%2), fmt.Sprint(i+1), uint64(i+1))
	}
	tests := []struct {
		name   string
		del    func(seq uint64) error
		seq    uint64
		wantOK bool
	}{
		{"delete middle", func(seq uint64) error { return s.DeleteMsg(ctx, seq) }, 3, true},
		{"secure delete", func(seq uint64) error { return s.SecureDeleteMsg(ctx, seq) }, 4, true},
		{"delete first", func(seq uint64) error { return s.DeleteMsg(ctx, seq) }, 1, true},
		{"delete last", func(seq uint64) error { return s.DeleteMsg(ctx, seq) }, 6, true},
		{"delete again", func(seq uint64) error { return s.DeleteMsg(ctx, seq) }, 3, false},
		{"delete beyond last", func(seq uint64) error { return s.DeleteMsg(ctx, seq) }, 99, false},
		{"delete zero", func(seq uint64) error { return s.DeleteMsg(ctx, seq) }, 0, false},
	}
	for _, tt := range tests {
		err := tt.del(tt.seq)
		if tt.wantOK && err != nil {
			t.Fatalf("%s (%d): %v", tt.name, tt.seq, err)
		}
		if !tt.wantOK && !errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
			t.Fatalf("%s (%d): err = %v; want ErrMsgDeleteUnsuccessful", tt.name, tt.seq, err)
		}
	}
	if got, want := storedSeqs(t, s, 6), []uint64{2, 5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("stored = %v; want %v", got, want)
	}
	wantState(t, s, stateSummary{Msgs: 2, FirstSeq: 2, LastSeq: 6, NumSubjects: 2, NumDeleted: 3})
	// Deleting the last message does not give its sequence back.
	mustPublish(t, js, "d.0", "7", 7)
	m, err := s.GetLastMsgForSubject(ctx, "d.1")
	if err != nil || m.Sequence != 2 {
		t.Fatalf("last d.1 = %v, %v; want seq 2", m, err)
	}
}

// msgGetCases are lookups of the GetMsg fixture: by seq, the last message
// of last, or the next message of next from seq.
var msgGetCases = []struct {
	name     string
	seq      uint64
	last     string
	next     string
	wantSeq  uint64 // 0: ErrMsgNotFound
	wantData string
}{
	{"seq 1", 1, "", "", 1, "a1"},
	{"seq 4", 4, "", "", 4, "b2"},
	{"deleted seq", 3, "", "", 0, ""},
	{"seq past the end", 100, "", "", 0, ""},
	{"last g.a", 0, "g.a", "", 5, "a3"},
	{"last g.b", 0, "g.b", "", 4, "b2"},
	{"last wildcard", 0, "g.*", "", 5, "a3"},
	{"last unknown subject", 0, "g.zz", "", 0, ""},
	{"next g.b from 3", 3, "", "g.b", 4, "b2"},
	{"next g.b from 5", 5, "", "g.b", 0, ""},
}

func TestJSStreamGetMsg(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			j := startJS(t, "")
			nc, js := jsConnect(t, j)
			ctx := jsCtx(t)
			s := mustCreate(t, js, jetstream.StreamConfig{Name: "G", Subjects: []string{"g.*"}, AllowDirect: direct})
			// 1 g.a a1, 2 g.b b1 (with a header), 3 g.a a2 (deleted), 4 g.b b2, 5 g.a a3
			mustPublish(t, js, "g.a", "a1", 1)
			hm := natsMsg("g.b", "b1", "X-Test", "yes")
			if _, err := js.PublishMsg(ctx, hm); err != nil {
				t.Fatal(err)
			}
			mustPublish(t, js, "g.a", "a2", 3)
			mustPublish(t, js, "g.b", "b2", 4)
			mustPublish(t, js, "g.a", "a3", 5)
			if err := s.DeleteMsg(ctx, 3); err != nil {
				t.Fatal(err)
			}
			for _, tt := range msgGetCases {
				t.Run(tt.name, func(t *testing.T) {
					var m *jetstream.RawStreamMsg
					var err error
					switch {
					case tt.last != "":
						m, err = s.GetLastMsgForSubject(jsCtx(t), tt.last)
					case tt.next != "":
						m, err = s.GetMsg(jsCtx(t), tt.seq, jetstream.WithGetMsgSubject(tt.next))
					default:
						m, err = s.GetMsg(jsCtx(t), tt.seq)
					}
					if tt.wantSeq == 0 {
						if !errors.Is(err, jetstream.ErrMsgNotFound) {
							t.Fatalf("err = %v, msg %v; want ErrMsgNotFound", err, m)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if m.Sequence != tt.wantSeq || string(m.Data) != tt.wantData || m.Time.IsZero() {
						t.Fatalf("got seq %d data %q time %v; want seq %d data %q", m.Sequence, m.Data, m.Time, tt.wantSeq, tt.wantData)
					}
				})
			}
			m, err := s.GetMsg(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != "g.b" || m.Header.Get("X-Test") != "yes" {
				t.Fatalf("seq 2: subject %q header %v; want g.b with X-Test: yes", m.Subject, m.Header)
			}
			// A direct get on a stream that does not allow it finds no
			// responders (nats-server subscribes to it only for
			// allow_direct streams); the plain get API answers whatever
			// the setting.
			reply, err := nc.Request("$JS.API.DIRECT.GET.G", []byte(`{"seq":1}`), defaultReqTimeout)
			switch {
			case !direct && !errors.Is(err, nats.ErrNoResponders):
				t.Fatalf("direct get without allow_direct: %v, %v; want no responders", reply, err)
			case direct && err != nil:
				t.Fatal(err)
			case direct && (reply.Header.Get("Status") != "" || string(reply.Data) != "a1"):
				t.Fatalf("direct get: status %q data %q; want a1", reply.Header.Get("Status"), reply.Data)
			}
			if r := rawAPI(t, nc, "STREAM.MSG.GET.G", `{"seq":5}`); r.code() != 0 {
				t.Fatalf("msg get: %s", r.raw)
			}
		})
	}
}
