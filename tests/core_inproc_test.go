package tests

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/server"
)

// inprocInbox collects what an in-process subscription receives.
type inprocInbox struct {
	mu   sync.Mutex
	msgs []*protocol.Msg
}

func (b *inprocInbox) handle(m *protocol.Msg) {
	c := m.Clone()
	b.mu.Lock()
	b.msgs = append(b.msgs, c)
	b.mu.Unlock()
}

func (b *inprocInbox) snapshot() []*protocol.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

func TestCoreInProcReceivesFromClient(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	ip := s.InProc("test")
	t.Cleanup(ip.Close)
	var box inprocInbox
	if _, err := ip.Subscribe("svc.>", "", box.handle); err != nil {
		t.Fatal(err)
	}
	nc := connectNATS(t, s)
	m := &nats.Msg{
		Subject: "svc.a.b",
		Reply:   "reply.here",
		Header:  nats.Header{"Multi": {"1", "2"}, "Single": {"x"}},
		Data:    []byte("body"),
	}
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("other", []byte("not for us")); err != nil {
		t.Fatal(err)
	}
	// In-process handlers run while the server reads the publisher's
	// stream, so a flush is enough.
	flushNATS(t, nc)

	got := box.snapshot()
	if len(got) != 1 {
		t.Fatalf("got %d messages; want 1", len(got))
	}
	g := got[0]
	if string(g.Subject) != "svc.a.b" || string(g.Reply) != "reply.here" || string(g.Data) != "body" {
		t.Errorf("got subject %q reply %q data %q; want svc.a.b reply.here body", g.Subject, g.Reply, g.Data)
	}
	tests := []struct {
		field string
		want  []string
	}{
		{"Multi", []string{"1", "2"}},
		{"Single", []string{"x"}},
		{"Absent", nil},
	}
	for _, tt := range tests {
		if got := protocol.HeaderValues(g.Header, tt.field); !slices.Equal(got, tt.want) {
			t.Errorf("header %s = %q; want %q (block %q)", tt.field, got, tt.want, g.Header)
		}
	}
}

func TestCoreInProcPublishReachesClient(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	ip := s.InProc("test")
	t.Cleanup(ip.Close)
	nc := connectNATS(t, s)
	sub, err := nc.SubscribeSync("events.*")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, nc)

	var hdr []byte
	hdr = protocol.AppendHeaderStart(hdr, 0, "")
	hdr = protocol.AppendHeaderField(hdr, "Kind", "a")
	hdr = protocol.AppendHeaderField(hdr, "Kind", "b")
	hdr = protocol.AppendHeaderEnd(hdr)
	if err := ip.Publish("events.one", "", nil, []byte("plain")); err != nil {
		t.Fatal(err)
	}
	if err := ip.Publish("events.two", "back", hdr, []byte("with header")); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, nc)

	got := drainPending(t, sub)
	if len(got) != 2 {
		t.Fatalf("got %d messages; want 2", len(got))
	}
	if got[0].Subject != "events.one" || string(got[0].Data) != "plain" || len(got[0].Header) != 0 {
		t.Errorf("first: got %s %q header %v; want events.one \"plain\" no header", got[0].Subject, got[0].Data, got[0].Header)
	}
	if got[1].Subject != "events.two" || got[1].Reply != "back" || string(got[1].Data) != "with header" {
		t.Errorf("second: got %s reply %s %q; want events.two reply back \"with header\"", got[1].Subject, got[1].Reply, got[1].Data)
	}
	if v := got[1].Header.Values("Kind"); !slices.Equal(v, []string{"a", "b"}) {
		t.Errorf("second: header Kind = %q; want [a b]", v)
	}

	if err := ip.Publish("bad..subject", "", nil, nil); !errors.Is(err, server.ErrInvalidSubject) {
		t.Errorf("Publish to bad..subject: got %v; want %v", err, server.ErrInvalidSubject)
	}
}

// A service answering requests inline, from its handler.
func TestCoreInProcResponder(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	ip := s.InProc("svc")
	t.Cleanup(ip.Close)
	_, err := ip.Subscribe("svc.upper", "", func(m *protocol.Msg) {
		out := []byte(string(m.Data) + "!")
		if err := ip.Publish(string(m.Reply), "", nil, out); err != nil {
			t.Errorf("reply: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	nc := connectNATS(t, s)
	resp, err := nc.Request("svc.upper", []byte("hey"), testTimeout)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if string(resp.Data) != "hey!" {
		t.Errorf("reply %q; want %q", resp.Data, "hey!")
	}
}

func TestCoreInProcQueue(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	ip := s.InProc("workers")
	t.Cleanup(ip.Close)
	boxes := make([]*inprocInbox, 2)
	for i := range boxes {
		boxes[i] = &inprocInbox{}
		if _, err := ip.Subscribe("jobs", "q", boxes[i].handle); err != nil {
			t.Fatal(err)
		}
	}
	// A socket client in the same group shares the work.
	member := connectNATS(t, s)
	msub, err := member.QueueSubscribeSync("jobs", "q")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, member)
	pub := connectNATS(t, s)
	const n = 300
	publishN(t, pub, "jobs", n)
	flushNATS(t, pub, member)

	counts := make([]int, n)
	per := make([]int, 0, 3)
	for _, b := range boxes {
		msgs := b.snapshot()
		per = append(per, len(msgs))
		for _, m := range msgs {
			i, _ := strconv.Atoi(string(m.Data))
			counts[i]++
		}
	}
	msgs := drainPending(t, msub)
	per = append(per, len(msgs))
	for _, m := range msgs {
		i, _ := strconv.Atoi(string(m.Data))
		counts[i]++
	}
	for i, c := range counts {
		if c != 1 {
			t.Errorf("message %d delivered %d times in group q; want 1", i, c)
		}
	}
	for i, c := range per {
		if c == 0 {
			t.Errorf("member %d of %v got no messages; want some", i, per)
		}
	}
}

func TestCoreInProcClose(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	ip := s.InProc("closing")
	var box inprocInbox
	unsub, err := ip.Subscribe("a", "", box.handle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ip.Subscribe("b", "", box.handle); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Subscriptions; got != 2 {
		t.Fatalf("Subscriptions = %d; want 2", got)
	}
	unsub()
	if got := s.Stats().Subscriptions; got != 1 {
		t.Errorf("after unsubscribe Subscriptions = %d; want 1", got)
	}
	ip.Close()
	if got := s.Stats().Subscriptions; got != 0 {
		t.Errorf("after Close Subscriptions = %d; want 0", got)
	}
	if err := ip.Publish("a", "", nil, nil); !errors.Is(err, server.ErrClosed) {
		t.Errorf("Publish after Close: got %v; want %v", err, server.ErrClosed)
	}
	if _, err := ip.Subscribe("a", "", box.handle); !errors.Is(err, server.ErrClosed) {
		t.Errorf("Subscribe after Close: got %v; want %v", err, server.ErrClosed)
	}
}

// In-process connections are not clients: they count toward neither
// NumClients nor MaxConnections.
func TestCoreInProcNotCountedAsClient(t *testing.T) {
	s := startCoreServer(t, server.Options{MaxConnections: 1})
	for i := range 3 {
		ip := s.InProc(fmt.Sprintf("svc%d", i))
		t.Cleanup(ip.Close)
	}
	if got := s.NumClients(); got != 0 {
		t.Errorf("NumClients with only in-process connections = %d; want 0", got)
	}
	nc, err := nats.Connect(s.ClientURL(), nats.NoReconnect())
	if err != nil {
		t.Fatalf("first client with MaxConnections 1 and in-process connections open: %v", err)
	}
	nc.Close()
}
