package tests

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// restartFixture is one stream of the restart test: how it is built before
// the restart, and its state afterwards.
type restartFixture struct {
	cfg   jetstream.StreamConfig
	build func(t *testing.T, js jetstream.JetStream, s jetstream.Stream)
	gone  []uint64 // sequences that must stay deleted or purged
}

func restartFixtures() []restartFixture {
	return []restartFixture{
		{
			cfg: jetstream.StreamConfig{Name: "FILE", Subjects: []string{"f.>"}, MaxMsgsPerSubject: 8},
			build: func(t *testing.T, js jetstream.JetStream, s jetstream.Stream) {
				// 30 messages over f.a, f.b, f.c with ids id-1..id-30.
				for i := 1; i <= 30; i++ {
					subj := []string{"f.a", "f.b", "f.c"}[i%3]
					mustPublish(t, js, subj, fmt.Sprint(i), 0, jetstream.WithMsgID(fmt.Sprintf("id-%d", i)))
				}
				for _, seq := range []uint64{13, 20} {
					if err := s.DeleteMsg(jsCtx(t), seq); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Purge(jsCtx(t), jetstream.WithPurgeSubject("f.a")); err != nil {
					t.Fatal(err)
				}
			},
			// f.b and f.c kept their last 8 (seqs 7..30); f.a (multiples of 3) purged.
			gone: []uint64{1, 2, 6, 13, 20, 21, 30},
		},
		{
			cfg: jetstream.StreamConfig{Name: "S2", Subjects: []string{"s2.*"}, Compression: jetstream.S2Compression, MaxMsgs: 100},
			build: func(t *testing.T, js jetstream.JetStream, s jetstream.Stream) {
				for i := range 150 {
					mustPublish(t, js, fmt.Sprintf("s2.%d", i%7), "sensor=12.5;sensor=12.5;sensor=12.5", uint64(i+1))
				}
			},
			gone: []uint64{1, 50},
		},
		{
			cfg: jetstream.StreamConfig{Name: "PURGED", Subjects: []string{"purged"}},
			build: func(t *testing.T, js jetstream.JetStream, s jetstream.Stream) {
				for i := range 10 {
					mustPublish(t, js, "purged", "x", uint64(i+1))
				}
				if err := s.Purge(jsCtx(t)); err != nil {
					t.Fatal(err)
				}
			},
			gone: []uint64{1, 10},
		},
		{
			cfg: jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"keep.*"}, DenyDelete: true},
			build: func(t *testing.T, js jetstream.JetStream, s jetstream.Stream) {
				for i := range 10 {
					mustPublish(t, js, fmt.Sprintf("keep.%d", i%2), "x", uint64(i+1))
				}
				if err := s.Purge(jsCtx(t), jetstream.WithPurgeKeep(3)); err != nil {
					t.Fatal(err)
				}
			},
			gone: []uint64{1, 7},
		},
		{
			cfg:   jetstream.StreamConfig{Name: "FIRST", Subjects: []string{"first"}, FirstSeq: 50},
			build: func(t *testing.T, js jetstream.JetStream, s jetstream.Stream) {},
			gone:  []uint64{1, 49},
		},
		{
			cfg: jetstream.StreamConfig{Name: "WQ", Subjects: []string{"wq"}, Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew, MaxMsgs: 4},
			build: func(t *testing.T, js jetstream.JetStream, s jetstream.Stream) {
				for i := range 4 {
					mustPublish(t, js, "wq", "job", uint64(i+1))
				}
			},
		},
	}
}

func TestJSStreamRestart(t *testing.T) {
	dir := t.TempDir()
	j := startJS(t, dir)
	_, js := jsConnect(t, j)
	fixtures := restartFixtures()
	before := make(map[string]*jetstream.StreamInfo)
	subjectsBefore := make(map[string]map[string]uint64)
	for _, f := range fixtures {
		s := mustCreate(t, js, f.cfg)
		f.build(t, js, s)
		before[f.cfg.Name] = mustInfo(t, s)
		subjectsBefore[f.cfg.Name] = mustInfo(t, s, jetstream.WithSubjectFilter(">")).State.Subjects
	}
	lastID := mustPublish(t, js, "f.b", "last", 31, jetstream.WithMsgID("id-last"))
	before["FILE"] = mustInfo(t, mustStream(t, js, "FILE"))
	subjectsBefore["FILE"] = mustInfo(t, mustStream(t, js, "FILE"), jetstream.WithSubjectFilter(">")).State.Subjects

	for restart := 1; restart <= 2; restart++ {
		j.stop()
		j = startJS(t, dir)
		_, js = jsConnect(t, j)
		names := collectNames(t, js.StreamNames(jsCtx(t)))
		if want := []string{"FILE", "FIRST", "KEEP", "PURGED", "S2", "WQ"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("restart %d: streams = %v; want %v", restart, names, want)
		}
		for _, f := range fixtures {
			name := f.cfg.Name
			s := mustStream(t, js, name)
			got, want := mustInfo(t, s), before[name]
			if !reflect.DeepEqual(got.Config, want.Config) {
				t.Errorf("restart %d: %s config = %+v; want %+v", restart, name, got.Config, want.Config)
			}
			if !got.Created.Equal(want.Created) {
				t.Errorf("restart %d: %s created = %v; want %v", restart, name, got.Created, want.Created)
			}
			if g, w := summarize(got.State), summarize(want.State); g != w {
				t.Errorf("restart %d: %s state = %+v; want %+v", restart, name, g, w)
			}
			if got.State.Bytes != want.State.Bytes || !got.State.FirstTime.Equal(want.State.FirstTime) || !got.State.LastTime.Equal(want.State.LastTime) {
				t.Errorf("restart %d: %s bytes/first_ts/last_ts = %d %v %v; want %d %v %v", restart, name,
					got.State.Bytes, got.State.FirstTime, got.State.LastTime, want.State.Bytes, want.State.FirstTime, want.State.LastTime)
			}
			subjects := mustInfo(t, s, jetstream.WithSubjectFilter(">")).State.Subjects
			if !reflect.DeepEqual(subjects, subjectsBefore[name]) {
				t.Errorf("restart %d: %s subjects = %v; want %v", restart, name, subjects, subjectsBefore[name])
			}
			for _, seq := range f.gone {
				if _, err := s.GetMsg(jsCtx(t), seq); !errors.Is(err, jetstream.ErrMsgNotFound) {
					t.Errorf("restart %d: %s seq %d: err = %v; want ErrMsgNotFound", restart, name, seq, err)
				}
			}
		}
		// Every stored message reads back the same.
		s := mustStream(t, js, "FILE")
		for seq := uint64(1); seq <= 30; seq++ {
			m, err := s.GetMsg(jsCtx(t), seq)
			if err != nil {
				continue
			}
			if string(m.Data) != fmt.Sprint(seq) || m.Header.Get(jetstream.MsgIDHeader) != fmt.Sprintf("id-%d", seq) {
				t.Fatalf("restart %d: FILE seq %d = %q %v", restart, seq, m.Data, m.Header)
			}
		}
		// The duplicate window survives: a retried publish is still caught.
		ack := mustPublish(t, js, "f.c", "retry", 0, jetstream.WithMsgID("id-8"))
		if !ack.Duplicate || ack.Sequence != 8 {
			t.Fatalf("restart %d: retried id-8 ack %+v; want duplicate of seq 8", restart, ack)
		}
		ack = mustPublish(t, js, "f.a", "retry", 0, jetstream.WithMsgID("id-last"))
		if !ack.Duplicate || ack.Sequence != lastID.Sequence {
			t.Fatalf("restart %d: retried id-last ack %+v; want duplicate of seq %d", restart, ack, lastID.Sequence)
		}
		// So do the expected-* states. On the second pass the same publish
		// is a retry of one already stored: its id answers before the
		// now stale expectations do, so the client learns it succeeded.
		ack, err := js.Publish(jsCtx(t), "f.b", nil,
			jetstream.WithExpectLastMsgID("id-last"), jetstream.WithExpectLastSequencePerSubject(31),
			jetstream.WithExpectLastSequence(31), jetstream.WithExpectStream("FILE"), jetstream.WithMsgID("probe"))
		if err != nil {
			t.Fatalf("restart %d: publish with expectations: %v", restart, err)
		}
		if ack.Sequence != 32 || ack.Duplicate != (restart == 2) {
			t.Fatalf("restart %d: publish with expectations: ack %+v; want seq 32, duplicate %v", restart, ack, restart == 2)
		}
		before["FILE"] = mustInfo(t, s)
		subjectsBefore["FILE"] = mustInfo(t, s, jetstream.WithSubjectFilter(">")).State.Subjects
		// Sequences carry on where they stopped.
		p := mustStream(t, js, "PURGED")
		wantState(t, p, stateSummary{FirstSeq: 10 + uint64(restart), LastSeq: 9 + uint64(restart)})
		mustPublish(t, js, "purged", "after", 10+uint64(restart))
		if err := p.Purge(jsCtx(t)); err != nil {
			t.Fatal(err)
		}
		before["PURGED"] = mustInfo(t, p)
		// Limits still apply.
		_, err = js.Publish(jsCtx(t), "wq", nil)
		wantAPIErr(t, "publish over max_msgs with discard new", err, 10077)
	}
}

// mustStream looks a stream up.
func mustStream(t testing.TB, js jetstream.JetStream, name string) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(jsCtx(t), name)
	if err != nil {
		t.Fatalf("Stream(%s): %v", name, err)
	}
	return s
}

func TestJSStreamRestartTTL(t *testing.T) {
	dir := t.TempDir()
	j := startJS(t, dir)
	_, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "TTL", Subjects: []string{"ttl"}, AllowMsgTTL: true})
	mustPublish(t, js, "ttl", "short", 1, jetstream.WithMsgTTL(time.Second))
	mustPublish(t, js, "ttl", "long", 2, jetstream.WithMsgTTL(time.Hour))
	j.stop()
	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	s := mustStream(t, js, "TTL")
	// The TTL schedule is rebuilt from the log.
	waitState(t, s, stateSummary{Msgs: 1, FirstSeq: 2, LastSeq: 2, NumSubjects: 1})
}

func TestJSStreamRestartDeleted(t *testing.T) {
	dir := t.TempDir()
	j := startJS(t, dir)
	_, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "GONE", Subjects: []string{"gone"}})
	mustPublish(t, js, "gone", "x", 1)
	if err := js.DeleteStream(jsCtx(t), "GONE"); err != nil {
		t.Fatal(err)
	}
	j.stop()
	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	if _, err := js.Stream(jsCtx(t), "GONE"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("deleted stream after restart: err = %v; want ErrStreamNotFound", err)
	}
}

// TestJSStreamMemoryRestart documents what a restart does to a memory
// stream. A standalone nats-server forgets memory streams altogether (their
// configuration lives only in memory); a clustered one recreates them
// empty from its replicated metadata. Wren keeps the configuration in the
// store directory, like the clustered server: the stream comes back with
// the same configuration and creation time, empty, and numbering restarts
// at 1 (or its first_seq) because nothing recorded the old sequences.
func TestJSStreamMemoryRestart(t *testing.T) {
	dir := t.TempDir()
	j := startJS(t, dir)
	_, js := jsConnect(t, j)
	cfg := jetstream.StreamConfig{Name: "MEM", Subjects: []string{"mem.>"}, Storage: jetstream.MemoryStorage, MaxMsgs: 100}
	s := mustCreate(t, js, cfg)
	for i := range 20 {
		mustPublish(t, js, "mem.x", "x", uint64(i+1), jetstream.WithMsgID(fmt.Sprint(i)))
	}
	if err := s.DeleteMsg(jsCtx(t), 3); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, stateSummary{Msgs: 19, FirstSeq: 1, LastSeq: 20, NumSubjects: 1, NumDeleted: 1})
	before := mustInfo(t, s)

	j.stop()
	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	s = mustStream(t, js, "MEM")
	after := wantState(t, s, stateSummary{})
	if !reflect.DeepEqual(after.Config, before.Config) || !after.Created.Equal(before.Created) {
		t.Fatalf("memory stream config after restart = %+v (created %v); want %+v (created %v)", after.Config, after.Created, before.Config, before.Created)
	}
	// The dedup window went with the messages.
	ack := mustPublish(t, js, "mem.x", "again", 1, jetstream.WithMsgID("0"))
	if ack.Duplicate {
		t.Fatalf("ack %+v: a memory stream remembered an id across a restart", ack)
	}
	// A memory stream with a first sequence starts there again.
	mem2 := mustCreate(t, js, jetstream.StreamConfig{Name: "MEM2", Subjects: []string{"mem2"}, Storage: jetstream.MemoryStorage, FirstSeq: 50})
	mustPublish(t, js, "mem2", "x", 50)
	wantState(t, mem2, stateSummary{Msgs: 1, FirstSeq: 50, LastSeq: 50, NumSubjects: 1})
	// It works as before, and can be deleted for good.
	for i := 2; i <= 5; i++ {
		mustPublish(t, js, "mem.y", "y", uint64(i))
	}
	wantState(t, s, stateSummary{Msgs: 5, FirstSeq: 1, LastSeq: 5, NumSubjects: 2})
	if err := js.DeleteStream(jsCtx(t), "MEM"); err != nil {
		t.Fatal(err)
	}
	j.stop()
	j = startJS(t, dir)
	_, js = jsConnect(t, j)
	if _, err := js.Stream(jsCtx(t), "MEM"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("deleted memory stream after restart: err = %v; want ErrStreamNotFound", err)
	}
	wantState(t, mustStream(t, js, "MEM2"), stateSummary{FirstSeq: 50, LastSeq: 49})
	mustPublish(t, js, "mem2", "x", 50)
}
