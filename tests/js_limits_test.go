package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startLimitedWren runs the daemon binary with streams in a temp dir and
// the given lines in its [jetstream] section.
func startLimitedWren(t *testing.T, limits string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	dir := t.TempDir()
	file := writeFile(t, dir, "wren.toml", fmt.Sprintf("host = \"127.0.0.1\"\nport = 0\n[jetstream]\nenabled = true\nstore_dir = %q\n%s\n", dir+"/store", limits))
	p := startWren(t, "-c", file)
	nc, err := daemonConnect(t, p)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// wantJSErr fails unless err is a JetStream API error with the code.
func wantJSErr(t *testing.T, what string, err error, status int, code jetstream.ErrorCode) {
	t.Helper()
	var ae *jetstream.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error %v; want JetStream error %d/%d", what, err, status, code)
	}
	if ae.Code != status || ae.ErrorCode != code {
		t.Fatalf("%s: error %d/%d %q; want %d/%d", what, ae.Code, ae.ErrorCode, ae.Description, status, code)
	}
}

// TestJSLimitsRefuseWithNATSCodes runs the daemon with limits set in its
// file and checks that each refusal carries nats-server's code, that what
// fits is accepted, and that account info reports the limits.
func TestJSLimitsRefuseWithNATSCodes(t *testing.T) {
	nc, js := startLimitedWren(t, `max_memory = "64MB"
max_file = "1GB"
max_consumers = 3
max_ack_pending = 5000
max_inactive_threshold = "1h"
duplicate_window = "10m"
max_request_size = "64KB"`)
	ctx := jsCtx(t)

	// Memory: a stream's max_bytes is checked against what the others
	// leave.
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "HUGE", Subjects: []string{"huge"}, Storage: jetstream.MemoryStorage, MaxBytes: 2 << 30})
	wantJSErr(t, "memory stream of 2GB beyond max_memory 64MB", err, 500, 10028)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M1", Subjects: []string{"m1"}, Storage: jetstream.MemoryStorage, MaxBytes: 40 << 20}); err != nil {
		t.Fatalf("memory stream of 40MB: %v", err)
	}
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "M2", Subjects: []string{"m2"}, Storage: jetstream.MemoryStorage, MaxBytes: 30 << 20})
	wantJSErr(t, "second memory stream of 30MB with 24MB left", err, 500, 10028)
	_, err = js.UpdateStream(ctx, jetstream.StreamConfig{Name: "M1", Subjects: []string{"m1"}, Storage: jetstream.MemoryStorage, MaxBytes: 100 << 20})
	wantJSErr(t, "memory stream updated to 100MB", err, 500, 10028)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "F", Subjects: []string{"f"}, MaxBytes: 2 << 30})
	wantJSErr(t, "file stream of 2GB beyond max_file 1GB", err, 500, 10047)

	// A memory stream without max_bytes is stopped at publish once the
	// memory streams hold max_memory.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M3", Subjects: []string{"m3"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 512<<10)
	var pubErr error
	for i := 0; i < 200 && pubErr == nil; i++ {
		_, pubErr = js.Publish(ctx, "m3", payload)
	}
	wantJSErr(t, "publishing past max_memory", pubErr, 500, 10028)
	if si, err := js.Stream(ctx, "M3"); err != nil || si.CachedInfo().State.Bytes > 64<<20 {
		t.Fatalf("M3 holds %v bytes (%v); want at most 64MB", si.CachedInfo().State.Bytes, err)
	}

	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "DUP", Subjects: []string{"dup"}, Duplicates: 48 * time.Hour})
	wantJSErr(t, "duplicate window of 48h beyond 10m", err, 500, 10052)
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Duplicates: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}

	// Consumers.
	_, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{InactiveThreshold: 100 * 365 * 24 * time.Hour})
	wantJSErr(t, "ephemeral consumer with a 100-year inactive threshold", err, 400, 10153)
	_, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "big", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 6000})
	wantJSErr(t, "max_ack_pending 6000 beyond 5000", err, 400, 10121)
	for i := range 3 {
		if _, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: fmt.Sprint("d", i), InactiveThreshold: time.Hour}); err != nil {
			t.Fatalf("consumer %d of 3: %v", i, err)
		}
	}
	_, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d3"})
	wantJSErr(t, "fourth consumer with max_consumers 3", err, 400, 10026)

	// Request size.
	msg, err := nc.Request("$JS.API.STREAM.INFO.S", []byte(`{"subjects_filter":"`+strings.Repeat("a", 70<<10)+`"}`), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Error *jetstream.APIError `json:"error"`
	}
	if json.Unmarshal(msg.Data, &resp); resp.Error == nil || resp.Error.Code != 400 {
		t.Fatalf("70KB request with max_request_size 64KB: %s; want a 400", msg.Data)
	}

	ai, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ai.Limits.MaxMemory != 64<<20 || ai.Limits.MaxStore != 1<<30 || ai.Limits.MaxConsumers != 3 {
		t.Fatalf("account limits %+v; want max_memory 64MB, max_storage 1GB, max_consumers 3", ai.Limits)
	}
}

// TestJSLimitsDefaults runs the daemon with no limits set: a memory stream
// larger than the machine's memory is refused, and so is an ephemeral
// consumer kept for a century.
func TestJSLimitsDefaults(t *testing.T) {
	_, js := startLimitedWren(t, "")
	ctx := jsCtx(t)
	ai, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ai.Limits.MaxMemory <= 0 || ai.Limits.MaxStore <= 0 {
		t.Fatalf("default limits %+v; want a memory and a file limit", ai.Limits)
	}
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "HUGE", Subjects: []string{"huge"}, Storage: jetstream.MemoryStorage, MaxBytes: ai.Limits.MaxMemory + 1})
	wantJSErr(t, "memory stream beyond the default max_memory", err, 500, 10028)
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{InactiveThreshold: 100 * 365 * 24 * time.Hour})
	wantJSErr(t, "ephemeral consumer with a 100-year inactive threshold", err, 400, 10153)
}
