package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// deadLetterOf reads a stream's dead-letter setting as the API returns
// it: the dead_letter_stream field and the metadata key.
func deadLetterOf(t testing.TB, j *jsServer, name string) (field, meta string) {
	t.Helper()
	nc, _ := jsConnect(t, j)
	r := rawAPI(t, nc, "STREAM.INFO."+name, "")
	var info struct {
		Config struct {
			DeadLetter string            `json:"dead_letter_stream"`
			Metadata   map[string]string `json:"metadata"`
		} `json:"config"`
	}
	if err := json.Unmarshal(r.raw, &info); err != nil {
		t.Fatalf("STREAM.INFO.%s: %v in %s", name, err, r.raw)
	}
	return info.Config.DeadLetter, info.Config.Metadata["wren.dead_letter_stream"]
}

// TestDropinDeadLetterKeptByClients: the dead-letter stream is kept in the
// stream's metadata too, which nats.go and the nats CLI send back, so an
// update by a client that does not know dead_letter_stream keeps it; it
// is cleared only by an explicit empty metadata value.
func TestDropinDeadLetterKeptByClients(t *testing.T) {
	j := startJS(t, "")
	nc, js := jsConnect(t, j)
	ctx := jsCtx(t)
	mustCreate(t, js, jetstream.StreamConfig{Name: "DLQ", Subjects: []string{"dlq.>"}})
	if r := rawAPI(t, nc, "STREAM.CREATE.ORDERS", `{"name":"ORDERS","subjects":["orders.>"],"dead_letter_stream":"DLQ"}`); r.code() != 0 {
		t.Fatalf("create: %s", r.raw)
	}
	if f, m := deadLetterOf(t, j, "ORDERS"); f != "DLQ" || m != "DLQ" {
		t.Fatalf("after create: dead_letter_stream %q, metadata %q; want DLQ in both", f, m)
	}

	// As nats stream edit does: read the configuration, change a limit,
	// send it back (nats.go's StreamConfig has no dead_letter_stream).
	s, err := js.Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgs = 1000
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if f, m := deadLetterOf(t, j, "ORDERS"); f != "DLQ" || m != "DLQ" {
		t.Fatalf("after an edit: dead_letter_stream %q, metadata %q; want DLQ kept", f, m)
	}
	// A configuration built from scratch, without metadata, keeps it too.
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, MaxMsgs: 10}); err != nil {
		t.Fatal(err)
	}
	if f, _ := deadLetterOf(t, j, "ORDERS"); f != "DLQ" {
		t.Fatalf("after an update without it: dead_letter_stream %q; want DLQ kept", f)
	}
	// The two must agree.
	if r := rawAPI(t, nc, "STREAM.UPDATE.ORDERS", `{"name":"ORDERS","subjects":["orders.>"],"dead_letter_stream":"DLQ","metadata":{"wren.dead_letter_stream":"OTHER"}}`); r.code() != 10052 {
		t.Fatalf("disagreeing update: %s; want err_code 10052", r.raw)
	}
	// An explicit empty value clears it.
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Metadata: map[string]string{"wren.dead_letter_stream": ""}}); err != nil {
		t.Fatal(err)
	}
	if f, m := deadLetterOf(t, j, "ORDERS"); f != "" || m != "" {
		t.Fatalf("after clearing: dead_letter_stream %q, metadata %q; want none", f, m)
	}
	// Set through the metadata alone, as a client that knows only it.
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Metadata: map[string]string{"wren.dead_letter_stream": "DLQ"}}); err != nil {
		t.Fatal(err)
	}
	if f, _ := deadLetterOf(t, j, "ORDERS"); f != "DLQ" {
		t.Fatalf("set through metadata: dead_letter_stream %q; want DLQ", f)
	}
}

// TestDropinDeadLetterCLI: nats stream add --config with the setting in
// the file's metadata, then nats stream edit, keep the dead-letter stream.
func TestDropinDeadLetterCLI(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "DLQ", Subjects: []string{"dlq.>"}})
	file := filepath.Join(t.TempDir(), "orders.json")
	body := `{"name":"ORDERS","subjects":["orders.>"],"retention":"limits","storage":"file","num_replicas":1,` +
		`"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old",` +
		`"duplicate_window":120000000000,"metadata":{"wren.dead_letter_stream":"DLQ"}}`
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	url := j.srv.ClientURL()
	mustNATS(t, url, []string{"ORDERS"}, "stream", "add", "ORDERS", "--config", file)
	if f, _ := deadLetterOf(t, j, "ORDERS"); f != "DLQ" {
		t.Fatalf("after nats stream add --config: dead_letter_stream %q; want DLQ", f)
	}
	mustNATS(t, url, nil, "stream", "edit", "ORDERS", "--max-msgs", "100", "-f")
	if f, m := deadLetterOf(t, j, "ORDERS"); f != "DLQ" || m != "DLQ" {
		t.Fatalf("after nats stream edit: dead_letter_stream %q, metadata %q; want DLQ kept", f, m)
	}
}
