package tests

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

func TestCoreHeaders(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	subc := connectNATS(t, s)
	pub := connectNATS(t, s)
	sub, err := subc.SubscribeSync("hdr.*")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, subc)

	tests := []struct {
		name   string
		header nats.Header
		data   string
	}{
		{"one field", nats.Header{"Trace-Id": {"abc"}}, "payload"},
		{"multi-valued", nats.Header{"Tag": {"a", "b", "c"}, "Other": {"x"}}, "p"},
		{"case preserved", nats.Header{"lower-case": {"v"}, "MiXeD": {"V"}}, "p"},
		{"empty payload", nats.Header{"Only": {"header"}}, ""},
		{"value with spaces and colon", nats.Header{"K": {"a b: c"}}, "p"},
	}
	for _, tt := range tests {
		m := &nats.Msg{Subject: "hdr.x", Header: tt.header, Data: []byte(tt.data)}
		if err := pub.PublishMsg(m); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	flushNATS(t, pub, subc)
	got := drainPending(t, sub)
	if len(got) != len(tests) {
		t.Fatalf("got %d messages; want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		if !reflect.DeepEqual(got[i].Header, tt.header) {
			t.Errorf("%s: got header %v; want %v", tt.name, got[i].Header, tt.header)
		}
		if string(got[i].Data) != tt.data {
			t.Errorf("%s: got data %q; want %q", tt.name, got[i].Data, tt.data)
		}
	}
}

// A subscriber that did not ask for headers gets MSG with the payload only.
func TestCoreHeadersStrippedForOldClients(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	tests := []struct {
		name, connect string
		wantOp        string
		wantHeader    bool
	}{
		{"headers not asked", "", "MSG", false},
		{"headers false", `"headers":false`, "MSG", false},
		{"headers true", `"headers":true`, "HMSG", true},
	}
	pub := connectNATS(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, s)
			rc.connect(tt.connect)
			rc.send("SUB old.hdr 7\r\n")
			rc.ping()
			m := &nats.Msg{Subject: "old.hdr", Reply: "rep", Header: nats.Header{"A": {"1"}}, Data: []byte("hello")}
			if err := pub.PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			flushNATS(t, pub)
			msgs := rc.collectUntilPong()
			if len(msgs) != 1 {
				t.Fatalf("got %d messages; want 1", len(msgs))
			}
			got := msgs[0]
			if got.op != tt.wantOp || got.subject != "old.hdr" || got.sid != "7" || got.reply != "rep" || string(got.data) != "hello" {
				t.Errorf("got %s %s %s %s %q; want %s old.hdr 7 rep \"hello\"", got.op, got.subject, got.sid, got.reply, got.data, tt.wantOp)
			}
			if hasHeader := got.header != nil; hasHeader != tt.wantHeader {
				t.Errorf("got header %q; want header: %v", got.header, tt.wantHeader)
			}
		})
	}
}

func TestCoreRequestReply(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	svc := connectNATS(t, s)
	cli := connectNATS(t, s)

	_, err := svc.Subscribe("svc.echo", func(m *nats.Msg) {
		r := nats.NewMsg(m.Reply)
		r.Header.Set("Echoed", m.Subject)
		r.Data = append([]byte("echo: "), m.Data...)
		m.RespondMsg(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, svc)

	for _, body := range []string{"one", "two", ""} {
		resp, err := cli.Request("svc.echo", []byte(body), testTimeout)
		if err != nil {
			t.Fatalf("Request(%q): %v", body, err)
		}
		if got, want := string(resp.Data), "echo: "+body; got != want {
			t.Errorf("reply data %q; want %q", got, want)
		}
		if got := resp.Header.Get("Echoed"); got != "svc.echo" {
			t.Errorf("reply header Echoed = %q; want svc.echo", got)
		}
	}
}

func TestCoreNoResponders(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	nc := connectNATS(t, s)

	// The timeout is generous; ErrNoResponders (not ErrTimeout) shows the
	// server answered at once.
	_, err := nc.Request("nobody.home", []byte("hi"), testTimeout)
	if !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("Request to a subject with no subscriber: got %v; want %v", err, nats.ErrNoResponders)
	}

	// A subscriber that goes away makes no-responders come back.
	sub, err := nc.Subscribe("maybe.home", func(m *nats.Msg) { m.Respond([]byte("here")) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request("maybe.home", nil, testTimeout); err != nil {
		t.Fatalf("Request with a responder: %v", err)
	}
	sub.Unsubscribe()
	if _, err := nc.Request("maybe.home", nil, testTimeout); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("Request after the responder left: got %v; want %v", err, nats.ErrNoResponders)
	}
}

func TestCoreLargePayloads(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	subc := connectNATS(t, s)
	pub := connectNATS(t, s)
	if got, want := pub.MaxPayload(), int64(server.DefaultMaxPayload); got != want {
		t.Fatalf("MaxPayload() = %d; want %d", got, want)
	}
	sub, err := subc.SubscribeSync("big")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, subc)

	sizes := []int{server.DefaultMaxPayload, server.DefaultMaxPayload - 1, 64<<10 + 3, server.DefaultMaxPayload}
	sent := make([][]byte, len(sizes))
	for i, n := range sizes {
		sent[i] = make([]byte, n)
		crand.Read(sent[i])
		if err := pub.Publish("big", sent[i]); err != nil {
			t.Fatalf("Publish %d bytes: %v", n, err)
		}
	}
	// Headers count toward the limit: header plus data exactly at it.
	hm := &nats.Msg{Subject: "big", Header: nats.Header{"K": {"v"}}}
	hdrLen := len("NATS/1.0\r\nK: v\r\n\r\n")
	hm.Data = bytes.Repeat([]byte{'h'}, server.DefaultMaxPayload-hdrLen)
	if err := pub.PublishMsg(hm); err != nil {
		t.Fatalf("PublishMsg header+data at the limit: %v", err)
	}
	flushNATS(t, pub, subc)

	got := drainPending(t, sub)
	if len(got) != len(sent)+1 {
		t.Fatalf("got %d messages; want %d", len(got), len(sent)+1)
	}
	for i := range sent {
		if !bytes.Equal(got[i].Data, sent[i]) {
			t.Errorf("message %d: got %d bytes, not what was sent (%d bytes)", i, len(got[i].Data), len(sent[i]))
		}
	}
	if last := got[len(sent)]; !bytes.Equal(last.Data, hm.Data) || last.Header.Get("K") != "v" {
		t.Errorf("header+data message: got %d bytes and K=%q; want %d bytes and K=v", len(last.Data), last.Header.Get("K"), len(hm.Data))
	}
}

func TestCoreMaxPayloadClientSide(t *testing.T) {
	s := startCoreServer(t, server.Options{MaxPayload: 1000})
	nc := connectNATS(t, s)
	if got := nc.MaxPayload(); got != 1000 {
		t.Fatalf("MaxPayload() = %d; want 1000", got)
	}
	if err := nc.Publish("too.big", make([]byte, 1001)); !errors.Is(err, nats.ErrMaxPayload) {
		t.Errorf("Publish 1001 bytes: got %v; want %v", err, nats.ErrMaxPayload)
	}
	if err := nc.Publish("just.right", make([]byte, 1000)); err != nil {
		t.Errorf("Publish 1000 bytes: %v", err)
	}
	flushNATS(t, nc)

	// The default limit, 1 MiB.
	s2 := startCoreServer(t, server.Options{})
	nc2 := connectNATS(t, s2)
	if err := nc2.Publish("too.big", make([]byte, server.DefaultMaxPayload+1)); !errors.Is(err, nats.ErrMaxPayload) {
		t.Errorf("Publish 1 MiB + 1: got %v; want %v", err, nats.ErrMaxPayload)
	}
	flushNATS(t, nc2)
}
