package tests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestJSStreamLimitsDiscardOld(t *testing.T) {
	const payload = "0123456789" // every message is len(subject)+10 bytes
	tests := []struct {
		name string
		cfg  jetstream.StreamConfig
		n    int // messages published to lim.x
		want stateSummary
	}{
		{"max msgs", jetstream.StreamConfig{MaxMsgs: 5}, 12,
			stateSummary{Msgs: 5, FirstSeq: 8, LastSeq: 12, NumSubjects: 1}},
		{"max bytes", jetstream.StreamConfig{MaxBytes: 4 * int64(len("lim.x")+len(payload))}, 12,
			stateSummary{Msgs: 4, FirstSeq: 9, LastSeq: 12, NumSubjects: 1}},
		{"max bytes not a multiple", jetstream.StreamConfig{MaxBytes: 4*int64(len("lim.x")+len(payload)) + 7}, 12,
			stateSummary{Msgs: 4, FirstSeq: 9, LastSeq: 12, NumSubjects: 1}},
		{"max msgs and bytes", jetstream.StreamConfig{MaxMsgs: 3, MaxBytes: 1 << 20}, 12,
			stateSummary{Msgs: 3, FirstSeq: 10, LastSeq: 12, NumSubjects: 1}},
		{"under the limit", jetstream.StreamConfig{MaxMsgs: 50}, 12,
			stateSummary{Msgs: 12, FirstSeq: 1, LastSeq: 12, NumSubjects: 1}},
	}
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		for _, tt := range tests {
			t.Run(storage.String()+"/"+tt.name, func(t *testing.T) {
				j := startJS(t, "")
				_, js := jsConnect(t, j)
				cfg := tt.cfg
				cfg.Name, cfg.Subjects, cfg.Storage = "LIM", []string{"lim.>"}, storage
				s := mustCreate(t, js, cfg)
				for i := range tt.n {
					mustPublish(t, js, "lim.x", payload, uint64(i+1))
				}
				info := wantState(t, s, tt.want)
				if cfg.MaxBytes > 0 && info.State.Bytes > uint64(cfg.MaxBytes) {
					t.Fatalf("bytes = %d over max_bytes %d", info.State.Bytes, cfg.MaxBytes)
				}
				m, err := s.GetMsg(jsCtx(t), tt.want.FirstSeq)
				if err != nil || m.Sequence != tt.want.FirstSeq {
					t.Fatalf("first message = %v, %v; want seq %d", m, err, tt.want.FirstSeq)
				}
			})
		}
	}
}

func TestJSStreamLimitsDiscardNew(t *testing.T) {
	tests := []struct {
		name     string
		cfg      jetstream.StreamConfig
		publish  []string // subjects, in order
		wantErr  []bool   // per publish
		wantDesc string
		want     stateSummary
	}{
		{"max msgs", jetstream.StreamConfig{MaxMsgs: 3},
			[]string{"n.a", "n.a", "n.b", "n.a", "n.c"},
			[]bool{false, false, false, true, true},
			"maximum messages exceeded",
			stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 3, NumSubjects: 2}},
		{"max bytes", jetstream.StreamConfig{MaxBytes: 3 * int64(len("n.a")+len("data"))},
			[]string{"n.a", "n.a", "n.a", "n.a"},
			[]bool{false, false, false, true},
			"maximum bytes exceeded",
			stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 3, NumSubjects: 1}},
		{"per subject", jetstream.StreamConfig{MaxMsgsPerSubject: 2, DiscardNewPerSubject: true},
			[]string{"n.a", "n.a", "n.a", "n.b", "n.b", "n.b", "n.c"},
			[]bool{false, false, true, false, false, true, false},
			"maximum messages per subject exceeded",
			stateSummary{Msgs: 5, FirstSeq: 1, LastSeq: 5, NumSubjects: 3}},
		{"max msgs, an update of a full subject replaces", jetstream.StreamConfig{MaxMsgs: 3, MaxMsgsPerSubject: 1},
			[]string{"n.a", "n.b", "n.c", "n.a", "n.a", "n.d"},
			[]bool{false, false, false, false, false, true},
			"maximum messages exceeded",
			stateSummary{Msgs: 3, FirstSeq: 2, LastSeq: 5, NumSubjects: 3, NumDeleted: 1}},
		{"max bytes, an update of a full subject replaces", jetstream.StreamConfig{MaxBytes: 3 * int64(len("n.a")+len("data")), MaxMsgsPerSubject: 1},
			[]string{"n.a", "n.b", "n.c", "n.b", "n.d"},
			[]bool{false, false, false, false, true},
			"maximum bytes exceeded",
			stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 4, NumSubjects: 3, NumDeleted: 1}},
		{"per subject without discard new per subject drops old", jetstream.StreamConfig{MaxMsgsPerSubject: 2},
			[]string{"n.a", "n.a", "n.a", "n.b"},
			[]bool{false, false, false, false},
			"",
			stateSummary{Msgs: 3, FirstSeq: 2, LastSeq: 4, NumSubjects: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := startJS(t, "")
			_, js := jsConnect(t, j)
			cfg := tt.cfg
			cfg.Name, cfg.Subjects, cfg.Discard = "NEW", []string{"n.>"}, jetstream.DiscardNew
			s := mustCreate(t, js, cfg)
			var seq uint64
			for i, subj := range tt.publish {
				ack, err := js.Publish(jsCtx(t), subj, []byte("data"))
				if !tt.wantErr[i] {
					if err != nil {
						t.Fatalf("publish %d (%s): %v", i, subj, err)
					}
					seq++
					if ack.Sequence != seq {
						t.Fatalf("publish %d (%s): seq %d; want %d", i, subj, ack.Sequence, seq)
					}
					continue
				}
				wantAPIErr(t, fmt.Sprintf("publish %d (%s)", i, subj), err, 10077)
				if !strings.Contains(err.Error(), tt.wantDesc) {
					t.Fatalf("publish %d: err = %v; want %q", i, err, tt.wantDesc)
				}
			}
			wantState(t, s, tt.want)
		})
	}
}

// TestJSStreamKVFullBucket fills a key-value bucket to its max_bytes: new
// keys are refused, updates of existing keys still fit, also when many
// arrive in one group commit.
func TestJSStreamKVFullBucket(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	const keys = 10
	value := []byte("0123456789")
	size := len("$KV.FULL.k0") + len(value)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "FULL", MaxBytes: int64(keys * size)})
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if _, err := kv.Put(ctx, fmt.Sprintf("k%d", k), value); err != nil {
			t.Fatalf("put k%d: %v", k, err)
		}
	}
	_, err = kv.Put(ctx, "new", value)
	wantAPIErr(t, "put of a new key into a full bucket", err, 10077)
	rev, err := kv.Put(ctx, "k3", []byte("abcdefghij"))
	if err != nil {
		t.Fatalf("update of k3 in a full bucket: %v", err)
	}
	if _, err := kv.Put(ctx, "k3", []byte("abcdefghijk")); err == nil {
		t.Fatalf("an update larger than the value it replaces fit a full bucket")
	}
	// A burst of updates of one key shares group commits.
	futures := make([]jetstream.PubAckFuture, 50)
	for i := range futures {
		if futures[i], err = js.PublishAsync("$KV.FULL.k5", fmt.Appendf(nil, "burst-%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("burst update %d: %v", i, err)
		case <-time.After(testTimeout):
			t.Fatal("no ack")
		}
	}
	e, err := kv.Get(ctx, "k5")
	if err != nil || string(e.Value()) != "burst-0049" {
		t.Fatalf("k5 = %v, %v; want burst-0049", e, err)
	}
	e, err = kv.Get(ctx, "k3")
	if err != nil || e.Revision() != rev {
		t.Fatalf("k3 = %v, %v; want revision %d", e, err, rev)
	}
	s, err := js.Stream(ctx, "KV_FULL")
	if err != nil {
		t.Fatal(err)
	}
	info := mustInfo(t, s)
	if info.State.Msgs != keys || info.State.Bytes > uint64(keys*size) {
		t.Fatalf("bucket holds %d messages, %d bytes; want %d, at most %d", info.State.Msgs, info.State.Bytes, keys, keys*size)
	}
}

func TestJSStreamMaxMsgSize(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "SIZE", Subjects: []string{"size"}, MaxMsgSize: 100})
	mustPublish(t, js, "size", strings.Repeat("x", 100), 1)
	_, err := js.Publish(ctx, "size", []byte(strings.Repeat("x", 101)))
	wantAPIErr(t, "publish 101 bytes", err, 10054)
	// Headers count towards the size.
	_, err = js.PublishMsg(ctx, natsMsg("size", strings.Repeat("x", 90), "H", "0123456789"))
	wantAPIErr(t, "publish 90 bytes with a header", err, 10054)
	wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 1, LastSeq: 1, NumSubjects: 1})
}

func TestJSStreamMaxAge(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "AGE", Subjects: []string{"age.>"}, MaxAge: time.Second})
	start := time.Now()
	for i := range 5 {
		mustPublish(t, js, fmt.Sprintf("age.%d", i), "x", uint64(i+1))
	}
	// Judged by the time the answer came back: until then the state it
	// reports cannot have aged out.
	info := mustInfo(t, s)
	if want := (stateSummary{Msgs: 5, FirstSeq: 1, LastSeq: 5, NumSubjects: 5}); time.Since(start) < time.Second && summarize(info.State) != want {
		t.Fatalf("within max_age: state = %+v; want %+v", summarize(info.State), want)
	}
	waitState(t, s, stateSummary{FirstSeq: 6, LastSeq: 5})
	if el := time.Since(start); el < time.Second {
		t.Fatalf("messages with max_age 1s gone after %v", el)
	}
	// The sequence carries on after everything aged out.
	mustPublish(t, js, "age.0", "x", 6)
	wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 6, LastSeq: 6, NumSubjects: 1})
}

func TestJSStreamMaxMsgsPerSubject(t *testing.T) {
	const keys, rounds = 200, 3
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			j := startJS(t, "")
			nc, _ := jsConnect(t, j)
			js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(keys*rounds))
			if err != nil {
				t.Fatal(err)
			}
			s := mustCreate(t, js, jetstream.StreamConfig{
				Name: "KV", Subjects: []string{"kv.>"}, MaxMsgsPerSubject: 1, Storage: storage,
			})
			// Rounds go async, so a key's updates share group commits.
			for r := range rounds {
				for k := range keys {
					if _, err := js.PublishAsync(fmt.Sprintf("kv.%d", k), fmt.Appendf(nil, "r%d", r)); err != nil {
						t.Fatal(err)
					}
				}
			}
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(testTimeout):
				t.Fatal("acks pending")
			}
			info := mustInfo(t, s)
			if info.State.Msgs != keys || info.State.NumSubjects != keys || info.State.LastSeq != keys*rounds {
				t.Fatalf("state = %+v; want %d messages, %d subjects, last seq %d", summarize(info.State), keys, keys, keys*rounds)
			}
			want := fmt.Sprintf("r%d", rounds-1)
			for _, k := range []int{0, 1, keys / 2, keys - 1} {
				m, err := s.GetLastMsgForSubject(jsCtx(t), fmt.Sprintf("kv.%d", k))
				if err != nil || string(m.Data) != want {
					t.Fatalf("kv.%d = %v, %v; want %q", k, m, err, want)
				}
			}
			subjects := mustInfo(t, s, jetstream.WithSubjectFilter("kv.>")).State.Subjects
			if len(subjects) != keys {
				t.Fatalf("%d subjects listed; want %d", len(subjects), keys)
			}
			for subj, n := range subjects {
				if n != 1 {
					t.Fatalf("%s holds %d messages; want 1", subj, n)
				}
			}
			// Raising the limit keeps more history.
			if _, err := js.UpdateStream(jsCtx(t), jetstream.StreamConfig{
				Name: "KV", Subjects: []string{"kv.>"}, MaxMsgsPerSubject: 2, Storage: storage,
			}); err != nil {
				t.Fatal(err)
			}
			mustPublish(t, js, "kv.0", "new", keys*rounds+1)
			if got := mustInfo(t, s, jetstream.WithSubjectFilter("kv.0")).State.Subjects["kv.0"]; got != 2 {
				t.Fatalf("kv.0 holds %d messages after raising the limit; want 2", got)
			}
		})
	}
}

func TestJSStreamLimitsUpdateShrinks(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	cfg := jetstream.StreamConfig{Name: "SHRINK", Subjects: []string{"sh.>"}}
	s := mustCreate(t, js, cfg)
	for i := range 20 {
		mustPublish(t, js, fmt.Sprintf("sh.%d", i%4), "x", uint64(i+1))
	}
	cfg.MaxMsgsPerSubject = 2
	if _, err := js.UpdateStream(jsCtx(t), cfg); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, stateSummary{Msgs: 8, FirstSeq: 13, LastSeq: 20, NumSubjects: 4})
	cfg.MaxMsgs = 3
	if _, err := js.UpdateStream(jsCtx(t), cfg); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, stateSummary{Msgs: 3, FirstSeq: 18, LastSeq: 20, NumSubjects: 3})
}

func TestJSStreamWorkQueueConfig(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "WQ", Subjects: []string{"jobs.>"}, Retention: jetstream.WorkQueuePolicy})
	if got := mustInfo(t, s).Config.Retention; got != jetstream.WorkQueuePolicy {
		t.Fatalf("retention = %v; want workqueue", got)
	}
	for i := range 3 {
		mustPublish(t, js, "jobs.a", "job", uint64(i+1))
	}
	wantState(t, s, stateSummary{Msgs: 3, FirstSeq: 1, LastSeq: 3, NumSubjects: 1})
	_, err := js.UpdateStream(jsCtx(t), jetstream.StreamConfig{Name: "WQ", Subjects: []string{"jobs.>"}})
	wantAPIErr(t, "UpdateStream workqueue to limits", err, 10052)
}

func TestJSStreamCompression(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 3000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	payloads := [][]byte{
		bytes.Repeat([]byte("temperature=21.5;"), 200),
		random,
		[]byte("short"),
		nil,
	}
	for _, comp := range []jetstream.StoreCompression{jetstream.NoCompression, jetstream.S2Compression} {
		t.Run(comp.String(), func(t *testing.T) {
			dir := t.TempDir()
			j := startJS(t, dir)
			_, js := jsConnect(t, j)
			cfg := jetstream.StreamConfig{Name: "C", Subjects: []string{"c.>"}, Compression: comp}
			s := mustCreate(t, js, cfg)
			const rounds = 50
			for range rounds {
				for i, p := range payloads {
					if _, err := js.Publish(jsCtx(t), fmt.Sprintf("c.%d", i), p); err != nil {
						t.Fatal(err)
					}
				}
			}
			check := func(s jetstream.Stream) {
				t.Helper()
				info := mustInfo(t, s)
				if info.Config.Compression != comp {
					t.Fatalf("compression = %v; want %v", info.Config.Compression, comp)
				}
				n := uint64(rounds * len(payloads))
				if got := summarize(info.State); got != (stateSummary{Msgs: n, FirstSeq: 1, LastSeq: n, NumSubjects: uint64(len(payloads))}) {
					t.Fatalf("state = %+v", got)
				}
				for seq := uint64(1); seq <= n; seq++ {
					m, err := s.GetMsg(jsCtx(t), seq)
					if err != nil {
						t.Fatalf("GetMsg(%d): %v", seq, err)
					}
					if want := payloads[(seq-1)%uint64(len(payloads))]; !bytes.Equal(m.Data, want) {
						t.Fatalf("seq %d: %d bytes differ from the %d published", seq, len(m.Data), len(want))
					}
				}
			}
			check(s)
			j.stop()
			j = startJS(t, dir)
			_, js = jsConnect(t, j)
			s, err := js.Stream(jsCtx(t), "C")
			if err != nil {
				t.Fatal(err)
			}
			check(s)
			mustPublish(t, js, "c.0", "after restart", rounds*uint64(len(payloads))+1)
		})
	}
}
