package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

func TestReplayRequestBody(t *testing.T) {
	tests := []struct {
		stream, seqs string
		all, keep    bool
		want, werr   string
	}{
		{"DLQ", "3", false, false, `{"seqs":[3]}`, ""},
		{"DLQ", "1, 2,5", false, true, `{"seqs":[1,2,5],"keep":true}`, ""},
		{"DLQ", "", true, false, `{"all":true}`, ""},
		{"", "1", false, false, "", "--stream is required"},
		{"DLQ", "", false, false, "", "either --seq or --all"},
		{"DLQ", "1", true, false, "", "either --seq or --all"},
		{"DLQ", "x", false, false, "", "invalid sequence"},
		{"a.b", "1", false, false, "", "invalid stream name"},
	}
	for _, tt := range tests {
		got, err := replayRequestBody(tt.stream, tt.seqs, tt.all, tt.keep)
		if tt.werr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.werr) {
				t.Errorf("replayRequestBody(%q, %q, %v) error = %v; want %q", tt.stream, tt.seqs, tt.all, err, tt.werr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("replayRequestBody(%q, %q, %v, %v) = %s, %v; want %s", tt.stream, tt.seqs, tt.all, tt.keep, got, err, tt.want)
		}
	}
}

func TestRunReplay(t *testing.T) {
	s, err := server.New(server.Options{Host: "127.0.0.1", Port: 0, JetStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ip := s.InProc("jetstream")
	js, err := jetstore.Open(ip, jetstore.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		js.Close()
		ip.Close()
	})
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, cfg := range []string{
		`{"name":"DLQ","subjects":["dlq"]}`,
		`{"name":"WORK","subjects":["work.>"],"dead_letter_stream":"DLQ"}`,
	} {
		name := strings.Split(strings.Split(cfg, `"name":"`)[1], `"`)[0]
		if _, err := nc.Request("$JS.API.STREAM.CREATE."+name, []byte(cfg), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// A dead letter as a consumer leaves it: a job terminated on WORK,
	// stored in DLQ on its subject with the Wren-DLQ-* headers (a client
	// cannot set those itself).
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := jsc.Publish(ctx, "work.a", []byte("job")); err != nil {
		t.Fatal(err)
	}
	c, err := jsc.CreateOrUpdateConsumer(ctx, "WORK", jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for msg := range got.Messages() {
		msg.Term()
	}
	for {
		si, err := jsc.Stream(ctx, "DLQ")
		if err != nil {
			t.Fatal(err)
		}
		if si.CachedInfo().State.Msgs == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no dead letter in DLQ")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out, errb bytes.Buffer
	if err := runReplay([]string{"--server", s.ClientURL(), "--stream", "DLQ", "--seq", "1"}, &out, &errb); err != nil {
		t.Fatalf("runReplay: %v (%s)", err, errb.String())
	}
	if got := out.String(); got != "replayed 1 message(s) from DLQ\n" {
		t.Fatalf("output %q", got)
	}
	r, err := nc.Request("$JS.API.STREAM.MSG.GET.WORK", []byte(`{"seq":2}`), 5*time.Second)
	if err != nil || !bytes.Contains(r.Data, []byte(`"subject":"work.a"`)) {
		t.Fatalf("WORK seq 2 (the replayed job): %s, %v", r.Data, err)
	}
	err = runReplay([]string{"--server", s.ClientURL(), "--stream", "DLQ", "--seq", "1"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "1 message(s) failed") {
		t.Fatalf("second replay of the same message: %v; want a failure", err)
	}
}
