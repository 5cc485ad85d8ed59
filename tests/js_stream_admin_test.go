package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestJSStreamCreateDefaults(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "DEF"})
	info := mustInfo(t, s)
	c := info.Config
	tests := []struct {
		field     string
		got, want any
	}{
		{"subjects", c.Subjects, []string{"DEF"}},
		{"retention", c.Retention, jetstream.LimitsPolicy},
		{"discard", c.Discard, jetstream.DiscardOld},
		{"storage", c.Storage, jetstream.FileStorage},
		{"max_msgs", c.MaxMsgs, int64(-1)},
		{"max_bytes", c.MaxBytes, int64(-1)},
		{"max_msgs_per_subject", c.MaxMsgsPerSubject, int64(-1)},
		{"max_msg_size", c.MaxMsgSize, int32(-1)},
		{"max_consumers", c.MaxConsumers, -1},
		{"max_age", c.MaxAge, time.Duration(0)},
		{"num_replicas", c.Replicas, 1},
		{"duplicate_window", c.Duplicates, 2 * time.Minute},
		{"compression", c.Compression, jetstream.NoCompression},
		{"first_seq", info.State.FirstSeq, uint64(0)}, // nats-server: 0 until the first message
		{"last_seq", info.State.LastSeq, uint64(0)},
		{"messages", info.State.Msgs, uint64(0)},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v; want %v", tt.field, tt.got, tt.want)
		}
	}
	if info.Created.IsZero() {
		t.Errorf("created is zero")
	}
	// A stream with a max age takes it as its duplicate window.
	s = mustCreate(t, js, jetstream.StreamConfig{Name: "AGED", MaxAge: 30 * time.Second})
	if got := mustInfo(t, s).Config.Duplicates; got != 30*time.Second {
		t.Errorf("duplicate_window with max_age 30s = %v; want 30s", got)
	}
}

func TestJSStreamCreateIdempotent(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	cfg := jetstream.StreamConfig{Name: "SAME", Subjects: []string{"same.>"}, MaxMsgs: 100}
	mustCreate(t, js, cfg)
	mustPublish(t, js, "same.a", "x", 1)
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatalf("second CreateStream with the same config: %v", err)
	}
	// The defaults a server fills in count as the same config.
	full := cfg
	full.Retention, full.Storage, full.Replicas, full.Duplicates = jetstream.LimitsPolicy, jetstream.FileStorage, 1, 2*time.Minute
	if _, err := js.CreateStream(ctx, full); err != nil {
		t.Fatalf("CreateStream with defaults spelled out: %v", err)
	}
	other := cfg
	other.MaxMsgs = 5
	if _, err := js.CreateStream(ctx, other); !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		t.Fatalf("CreateStream with another config: err = %v; want ErrStreamNameAlreadyInUse", err)
	}
	s, err := js.Stream(ctx, "SAME")
	if err != nil {
		t.Fatal(err)
	}
	info := wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 1, LastSeq: 1, NumSubjects: 1})
	if info.Config.MaxMsgs != 100 {
		t.Fatalf("max_msgs = %d after refused create; want 100", info.Config.MaxMsgs)
	}
}

func TestJSStreamCreateRejected(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.*", "billing.>"}})
	tests := []struct {
		name string
		cfg  jetstream.StreamConfig
		want jetstream.ErrorCode
		desc string // part of the description
	}{
		{"overlap literal", jetstream.StreamConfig{Name: "O1", Subjects: []string{"orders.new"}}, 10065, "overlap"},
		{"overlap wider", jetstream.StreamConfig{Name: "O2", Subjects: []string{"orders.>"}}, 10065, "overlap"},
		{"overlap wildcard", jetstream.StreamConfig{Name: "O3", Subjects: []string{"*.new"}}, 10065, "overlap"},
		{"capture all", jetstream.StreamConfig{Name: "ALL", Subjects: []string{">"}}, 10052, "reserved"},
		{"overlap second subject", jetstream.StreamConfig{Name: "O4", Subjects: []string{"x", "billing.eu"}}, 10065, "overlap"},
		{"replicas 3", jetstream.StreamConfig{Name: "R3", Replicas: 3}, 10074, "replicas"},
		{"own subjects overlap", jetstream.StreamConfig{Name: "SELF", Subjects: []string{"a.*", "a.b"}}, 10052, "overlap"},
		{"invalid subject", jetstream.StreamConfig{Name: "BADSUBJ", Subjects: []string{"a..b"}}, 10052, "invalid subject"},
		{"reserved API subject", jetstream.StreamConfig{Name: "API", Subjects: []string{"$JS.API.>"}}, 10052, "reserved"},
		{"negative max age", jetstream.StreamConfig{Name: "NEGAGE", MaxAge: -time.Second}, 10052, "max age"},
		{"window over max age", jetstream.StreamConfig{Name: "WIN", MaxAge: time.Second, Duplicates: time.Minute}, 10052, "duplicates window"},
		{"window under 100ms", jetstream.StreamConfig{Name: "TINYWIN", Duplicates: 50 * time.Millisecond}, 10052, "duplicates window"},
		{"max age under 100ms", jetstream.StreamConfig{Name: "TINYAGE", MaxAge: 50 * time.Millisecond}, 10052, "max age"},
		{"discard new per subject without limit", jetstream.StreamConfig{Name: "DNPS", Discard: jetstream.DiscardNew, DiscardNewPerSubject: true}, 10052, "discard new per subject"},
		{"rollup with deny purge", jetstream.StreamConfig{Name: "ROLL", AllowRollup: true, DenyPurge: true}, 10052, "purge"},
		{"mirror", jetstream.StreamConfig{Name: "MIR", Mirror: &jetstream.StreamSource{Name: "ORDERS"}}, 10052, "not supported"},
		{"sources", jetstream.StreamConfig{Name: "SRC", Sources: []*jetstream.StreamSource{{Name: "ORDERS"}}}, 10052, "not supported"},
		{"republish", jetstream.StreamConfig{Name: "REP", RePublish: &jetstream.RePublish{Source: ">", Destination: "x.>"}}, 10052, "not supported"},
		{"sealed", jetstream.StreamConfig{Name: "SEAL", Sealed: true}, 10052, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := js.CreateStream(jsCtx(t), tt.cfg)
			wantAPIErr(t, "CreateStream", err, tt.want)
			if !strings.Contains(err.Error(), tt.desc) {
				t.Errorf("error %q does not mention %q", err, tt.desc)
			}
		})
	}
	// None of them was created.
	names := collectNames(t, js.StreamNames(jsCtx(t)))
	if want := []string{"ORDERS"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("streams = %v; want %v", names, want)
	}
	// Messages still land in the first stream only.
	mustPublish(t, js, "orders.new", "x", 1)
	_ = nc
}

func TestJSStreamInvalidNames(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	// nats.go refuses these before asking the server.
	for _, name := range []string{"", "a.b", "a b", "a*", "a>", "a/b", `a\b`} {
		if _, err := js.CreateStream(jsCtx(t), jetstream.StreamConfig{Name: name}); err == nil {
			t.Errorf("CreateStream(%q) succeeded", name)
		}
	}
	// The server refuses what reaches it as one subject token.
	tests := []struct {
		token, name string
		want        jetstream.ErrorCode
	}{
		{"a/b", "a/b", 10052},
		{`a\b`, `a\b`, 10052},
		{"*", "*", 10052},
		{">", ">", 10052},
		{strings.Repeat("n", 256), strings.Repeat("n", 256), 10052},
		{"GOOD", "OTHER", 10056},
		{"a", "a.b", 10056},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rawAPI(t, nc, "STREAM.CREATE."+tt.token, map[string]any{"name": tt.name})
			if got := r.code(); got != tt.want {
				t.Fatalf("create %q on token %q: err_code = %d (%s); want %d", tt.name, tt.token, got, r.raw, tt.want)
			}
		})
	}
	if r := rawAPI(t, nc, "STREAM.CREATE.OK_-1", nil); r.code() != 0 {
		t.Fatalf("create OK_-1 with an empty body: %s", r.raw)
	}
	names := collectNames(t, js.StreamNames(jsCtx(t)))
	if want := []string{"OK_-1"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("streams = %v; want %v", names, want)
	}
}

func TestJSStreamUpdate(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	cfg := jetstream.StreamConfig{Name: "UPD", Subjects: []string{"upd.a"}}
	s := mustCreate(t, js, cfg)
	for i := range 10 {
		mustPublish(t, js, "upd.a", fmt.Sprint(i), uint64(i+1))
	}
	if _, err := js.Publish(ctx, "upd.b", nil, jetstream.WithRetryAttempts(0)); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publish to upd.b before update: err = %v; want ErrNoStreamResponse", err)
	}

	// Allowed: subjects and limits.
	cfg.Subjects = []string{"upd.a", "upd.b"}
	cfg.MaxMsgs = 4
	cfg.Description = "updated"
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("UpdateStream: %v", err)
	}
	info := wantState(t, s, stateSummary{Msgs: 4, FirstSeq: 7, LastSeq: 10, NumSubjects: 1})
	if info.Config.MaxMsgs != 4 || info.Config.Description != "updated" || len(info.Config.Subjects) != 2 {
		t.Fatalf("config after update = %+v", info.Config)
	}
	mustPublish(t, js, "upd.b", "b", 11)
	wantState(t, s, stateSummary{Msgs: 4, FirstSeq: 8, LastSeq: 11, NumSubjects: 2})

	// Dropping a subject stops capturing it.
	cfg.Subjects = []string{"upd.b"}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("UpdateStream: %v", err)
	}
	if _, err := js.Publish(ctx, "upd.a", nil, jetstream.WithRetryAttempts(0)); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publish to a dropped subject: err = %v; want ErrNoStreamResponse", err)
	}

	// Forbidden changes.
	tests := []struct {
		name   string
		change func(c *jetstream.StreamConfig)
		want   jetstream.ErrorCode
	}{
		{"storage", func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }, 10052},
		{"retention", func(c *jetstream.StreamConfig) { c.Retention = jetstream.WorkQueuePolicy }, 10052},
		{"replicas", func(c *jetstream.StreamConfig) { c.Replicas = 3 }, 10074},
		{"bad subject", func(c *jetstream.StreamConfig) { c.Subjects = []string{"a.>.b"} }, 10052},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			tt.change(&c)
			_, err := js.UpdateStream(jsCtx(t), c)
			wantAPIErr(t, "UpdateStream("+tt.name+")", err, tt.want)
		})
	}
	info = mustInfo(t, s)
	if info.Config.Storage != jetstream.FileStorage || info.Config.Retention != jetstream.LimitsPolicy {
		t.Fatalf("config changed by a refused update: %+v", info.Config)
	}

	// Overlap with another stream.
	mustCreate(t, js, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"other.>"}})
	c := cfg
	c.Subjects = []string{"upd.b", "other.x"}
	_, err := js.UpdateStream(ctx, c)
	wantAPIErr(t, "UpdateStream onto another stream's subjects", err, 10065)

	// Unknown stream.
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "NOPE"}); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("UpdateStream(NOPE): err = %v; want ErrStreamNotFound", err)
	}
}

func TestJSStreamCreateOrUpdate(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	cfg := jetstream.StreamConfig{Name: "COU", Subjects: []string{"cou.>"}}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		t.Fatalf("CreateOrUpdateStream (create): %v", err)
	}
	mustPublish(t, js, "cou.x", "1", 1)
	cfg.MaxMsgsPerSubject = 5
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		t.Fatalf("CreateOrUpdateStream (update): %v", err)
	}
	info := wantState(t, s, stateSummary{Msgs: 1, FirstSeq: 1, LastSeq: 1, NumSubjects: 1})
	if info.Config.MaxMsgsPerSubject != 5 {
		t.Fatalf("max_msgs_per_subject = %d; want 5", info.Config.MaxMsgsPerSubject)
	}
	cfg.Storage = jetstream.MemoryStorage
	_, err = js.CreateOrUpdateStream(ctx, cfg)
	wantAPIErr(t, "CreateOrUpdateStream changing storage", err, 10052)
}

func TestJSStreamDelete(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "DEL", Subjects: []string{"del.>"}})
	for i := range 5 {
		mustPublish(t, js, "del.x", "x", uint64(i+1))
	}
	if err := js.DeleteStream(ctx, "DEL"); err != nil {
		t.Fatalf("DeleteStream: %v", err)
	}
	if _, err := js.Stream(ctx, "DEL"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("Stream after delete: err = %v; want ErrStreamNotFound", err)
	}
	if _, err := s.Info(ctx); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("Info after delete: err = %v; want ErrStreamNotFound", err)
	}
	if err := js.DeleteStream(ctx, "DEL"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("second DeleteStream: err = %v; want ErrStreamNotFound", err)
	}
	if _, err := js.Publish(ctx, "del.x", nil, jetstream.WithRetryAttempts(0)); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publish after delete: err = %v; want ErrNoStreamResponse", err)
	}
	// The name and subjects are free again, and the new stream starts empty.
	s = mustCreate(t, js, jetstream.StreamConfig{Name: "DEL", Subjects: []string{"del.>"}})
	wantState(t, s, stateSummary{})
	mustPublish(t, js, "del.y", "y", 1)
	mustCreate(t, js, jetstream.StreamConfig{Name: "DEL2", Subjects: []string{"gone.>"}})
	if err := js.DeleteStream(ctx, "DEL2"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, js, jetstream.StreamConfig{Name: "DEL3", Subjects: []string{"gone.>"}})
}

func TestJSStreamInfoState(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "INFO", Subjects: []string{"info.>"}})
	subjects := []string{"info.a", "info.b", "info.c.x", "info.a", "info.b", "info.a", "info.c.y", "info.a"}
	var bytes uint64
	start := time.Now()
	for i, subj := range subjects {
		mustPublish(t, js, subj, "payload", uint64(i+1))
		bytes += uint64(len(subj) + len("payload"))
	}
	info := wantState(t, s, stateSummary{Msgs: 8, FirstSeq: 1, LastSeq: 8, NumSubjects: 4})
	if info.State.Bytes != bytes {
		t.Errorf("bytes = %d; want %d", info.State.Bytes, bytes)
	}
	for _, ts := range []time.Time{info.State.FirstTime, info.State.LastTime} {
		if ts.Before(start.Add(-time.Minute)) || ts.After(time.Now().Add(time.Minute)) {
			t.Errorf("timestamp %v is not near now", ts)
		}
	}
	if info.State.LastTime.Before(info.State.FirstTime) {
		t.Errorf("last_ts %v before first_ts %v", info.State.LastTime, info.State.FirstTime)
	}

	for _, seq := range []uint64{2, 5, 1} {
		if err := s.DeleteMsg(ctx, seq); err != nil {
			t.Fatalf("DeleteMsg(%d): %v", seq, err)
		}
	}
	// Deleting seq 1 moves the first sequence to 3; 5 stays a hole.
	wantState(t, s, stateSummary{Msgs: 5, FirstSeq: 3, LastSeq: 8, NumSubjects: 3, NumDeleted: 1})
	info = mustInfo(t, s, jetstream.WithDeletedDetails(true))
	if want := []uint64{5}; !reflect.DeepEqual(info.State.Deleted, want) {
		t.Errorf("deleted = %v; want %v", info.State.Deleted, want)
	}
	if info := mustInfo(t, s); info.State.Deleted != nil {
		t.Errorf("deleted without asking = %v", info.State.Deleted)
	}

	filters := []struct {
		filter string
		want   map[string]uint64
	}{
		{"info.a", map[string]uint64{"info.a": 3}},
		{"info.*", map[string]uint64{"info.a": 3}},
		{"info.c.*", map[string]uint64{"info.c.x": 1, "info.c.y": 1}},
		{">", map[string]uint64{"info.a": 3, "info.c.x": 1, "info.c.y": 1}},
		{"info.zzz", nil},
	}
	for _, tt := range filters {
		t.Run(tt.filter, func(t *testing.T) {
			info := mustInfo(t, s, jetstream.WithSubjectFilter(tt.filter))
			got := info.State.Subjects
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("subjects(%q) = %v; want %v", tt.filter, got, tt.want)
			}
		})
	}
}

// collectNames drains a name lister.
func collectNames(t testing.TB, l jetstream.StreamNameLister) []string {
	t.Helper()
	var names []string
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		t.Fatalf("StreamNames: %v", err)
	}
	sort.Strings(names)
	return names
}

func TestJSStreamListPaging(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	const n = 300
	var want []string
	for i := range n {
		name := fmt.Sprintf("L%03d", i)
		want = append(want, name)
		subj := fmt.Sprintf("list.%d", i)
		if i%2 == 0 {
			subj = fmt.Sprintf("even.%d", i)
		}
		mustCreate(t, js, jetstream.StreamConfig{Name: name, Subjects: []string{subj}, Storage: jetstream.MemoryStorage})
	}
	mustPublish(t, js, "list.7", "x", 1)

	if got := collectNames(t, js.StreamNames(jsCtx(t))); !reflect.DeepEqual(got, want) {
		t.Fatalf("StreamNames returned %d names; want %d (%v...)", len(got), len(want), got[:min(len(got), 5)])
	}
	var infos []string
	l := js.ListStreams(jsCtx(t))
	for info := range l.Info() {
		infos = append(infos, info.Config.Name)
		if info.Config.Name == "L007" && info.State.Msgs != 1 {
			t.Errorf("L007 messages = %d; want 1", info.State.Msgs)
		}
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(infos)
	if !reflect.DeepEqual(infos, want) {
		t.Fatalf("ListStreams returned %d streams; want %d", len(infos), len(want))
	}

	filters := []struct {
		subject string
		want    int
	}{
		{"even.>", n / 2},
		{"list.*", n / 2},
		{">", n},
		{"list.7", 1},
		{"even.7", 0},
	}
	for _, tt := range filters {
		t.Run(tt.subject, func(t *testing.T) {
			got := collectNames(t, js.StreamNames(jsCtx(t), jetstream.WithStreamListSubject(tt.subject)))
			if len(got) != tt.want {
				t.Errorf("StreamNames(subject %q) = %d names; want %d", tt.subject, len(got), tt.want)
			}
			var k int
			l := js.ListStreams(jsCtx(t), jetstream.WithStreamListSubject(tt.subject))
			for range l.Info() {
				k++
			}
			if l.Err() != nil || k != tt.want {
				t.Errorf("ListStreams(subject %q) = %d, %v; want %d", tt.subject, k, l.Err(), tt.want)
			}
		})
	}

	// The page shape on the wire.
	pages := []struct {
		op     string
		offset int
		want   int
	}{
		{"STREAM.NAMES", 0, 256},
		{"STREAM.NAMES", 256, 44},
		{"STREAM.NAMES", 300, 0},
		{"STREAM.LIST", 256, 44},
	}
	for _, p := range pages {
		var body struct {
			Streams []any `json:"streams"`
		}
		r := rawAPI(t, nc, p.op, map[string]any{"offset": p.offset})
		if err := json.Unmarshal(r.raw, &body); err != nil {
			t.Fatal(err)
		}
		if r.Total != n || r.Limit != 256 || len(body.Streams) != p.want {
			t.Errorf("%s offset %d: total %d limit %d streams %d; want %d, 256, %d", p.op, p.offset, r.Total, r.Limit, len(body.Streams), n, p.want)
		}
	}
}
