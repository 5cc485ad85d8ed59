package jetstore

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wrenmq/wren/protocol"
)

// fakeBus is a Bus with the delivery semantics of the broker's in-process
// connection, without a broker, recording everything published:
//
//   - Subscribe refuses a nil handler, an invalid filter or a queue name
//     that is not a literal; Publish and PublishAs refuse subjects that
//     are not literals; after close every call fails.
//   - A publish reaches every plain subscription whose filter matches, and
//     one member of each matching queue group (taken in turn, where the
//     broker takes one at random), synchronously, on the publisher's
//     goroutine, with no lock held, so a handler may publish or subscribe.
//   - PublishAs delivers to the subscribers of route a message showing
//     subject; PublishBatch delivers as Publish does.
//   - Each handler gets its own copy of the message, scribbled over once
//     the handler returns, so a handler that keeps a slice it should have
//     copied sees garbage.
type fakeBus struct {
	mu     sync.Mutex
	subs   []*fakeSub // in subscription order
	next   int        // turn within queue groups
	sent   []fakeSent
	closed bool
}

type fakeSub struct {
	filter, queue string
	h             func(*protocol.Msg)
}

// fakeSent is one message published: route is where it went, msg.Subject
// the subject it shows (the same but for PublishAs).
type fakeSent struct {
	route string
	msg   *protocol.Msg
}

var errFakeClosed = errors.New("connection closed")

func newFakeBus() *fakeBus { return &fakeBus{} }

func (b *fakeBus) Subscribe(subject, queue string, h func(*protocol.Msg)) (func(), error) {
	if h == nil {
		return nil, errors.New("nil handler")
	}
	if !protocol.ValidFilter(subject) || (queue != "" && !protocol.ValidLiteral(queue)) {
		return nil, errors.New("invalid subject")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errFakeClosed
	}
	s := &fakeSub{filter: subject, queue: queue, h: h}
	b.subs = append(b.subs, s)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, x := range b.subs {
			if x == s {
				b.subs = append(b.subs[:i:i], b.subs[i+1:]...)
				return
			}
		}
	}, nil
}

func (b *fakeBus) Publish(subject, reply string, header, data []byte) error {
	return b.PublishAs(subject, subject, reply, header, data)
}

func (b *fakeBus) PublishAs(route, subject, reply string, header, data []byte) error {
	if !protocol.ValidLiteral(route) || !protocol.ValidLiteral(subject) {
		return errors.New("invalid subject")
	}
	m := &protocol.Msg{Subject: []byte(subject), Reply: []byte(reply), Header: header, Data: data}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errFakeClosed
	}
	b.sent = append(b.sent, fakeSent{route: route, msg: m.Clone()})
	hs := b.receivers(route)
	b.mu.Unlock()
	for _, h := range hs {
		c := m.Clone()
		h(c)
		for _, s := range [][]byte{c.Subject, c.Reply, c.Header, c.Data} {
			for i := range s {
				s[i] = 0xAA
			}
		}
	}
	return nil
}

// receivers returns the handlers a message on route goes to: every
// matching plain subscription and one member of each matching queue
// group. Caller holds mu.
func (b *fakeBus) receivers(route string) []func(*protocol.Msg) {
	var hs []func(*protocol.Msg)
	groups := map[string][]*fakeSub{}
	var order []string
	for _, s := range b.subs {
		if !protocol.MatchLiteral(route, s.filter) {
			continue
		}
		if s.queue == "" {
			hs = append(hs, s.h)
			continue
		}
		if groups[s.queue] == nil {
			order = append(order, s.queue)
		}
		groups[s.queue] = append(groups[s.queue], s)
	}
	for _, q := range order {
		g := groups[q]
		hs = append(hs, g[b.next%len(g)].h)
	}
	b.next++
	return hs
}

func (b *fakeBus) PublishBatch(fn func(publish func(subject, reply string, header, data []byte) error)) {
	fn(b.Publish)
}

func (b *fakeBus) HasInterest(subject string) bool {
	if !protocol.ValidLiteral(subject) {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		if protocol.MatchLiteral(subject, s.filter) {
			return true
		}
	}
	return false
}

// close ends the connection: every later call fails, as after the
// in-process connection's Close.
func (b *fakeBus) close() {
	b.mu.Lock()
	b.closed = true
	b.subs = nil
	b.mu.Unlock()
}

// to returns what was published to route so far (for PublishAs, the
// message shows the subject it was published to).
func (b *fakeBus) to(route string) []*protocol.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*protocol.Msg
	for _, s := range b.sent {
		if s.route == route {
			out = append(out, s.msg)
		}
	}
	return out
}

// waitFor polls until n messages were published to route, or fails.
func (b *fakeBus) waitFor(t testing.TB, route string, n int) []*protocol.Msg {
	t.Helper()
	var got []*protocol.Msg
	waitCond(t, fmt.Sprintf("%d messages to %s", n, route), func() bool {
		got = b.to(route)
		return len(got) >= n
	})
	return got
}

// TestFakeBusDelivery holds the fake to the broker's delivery semantics
// the stream layer relies on.
func TestFakeBusDelivery(t *testing.T) {
	b := newFakeBus()
	var got []string
	rec := func(name string) func(*protocol.Msg) {
		return func(m *protocol.Msg) { got = append(got, name+":"+string(m.Subject)+":"+string(m.Data)) }
	}
	for _, s := range []struct{ subj, queue, name string }{
		{"a.*", "", "p1"}, {"a.>", "", "p2"}, {"a.b", "g", "g1"}, {"a.*", "g", "g2"}, {"b", "", "other"},
	} {
		if _, err := b.Subscribe(s.subj, s.queue, rec(s.name)); err != nil {
			t.Fatal(err)
		}
	}
	b.Publish("a.b", "", nil, []byte("1"))
	b.Publish("a.b", "", nil, []byte("2"))
	b.PublishAs("b", "s.x", "", nil, []byte("3"))
	want := []string{"p1:a.b:1", "p2:a.b:1", "g1:a.b:1", "p1:a.b:2", "p2:a.b:2", "g2:a.b:2", "other:s.x:3"}
	if len(got) != len(want) {
		t.Fatalf("deliveries %q; want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("deliveries %q; want %q", got, want)
		}
	}
	if !b.HasInterest("a.c") || b.HasInterest("c") || b.HasInterest("a.*") {
		t.Error("HasInterest does not follow the subscriptions")
	}
	for _, bad := range []error{
		b.Publish("a.*", "", nil, nil),
		b.PublishAs("a.>", "s", "", nil, nil),
		b.PublishAs("a.b", "", "", nil, nil),
	} {
		if bad == nil {
			t.Error("a publish to a subject that is not a literal succeeded")
		}
	}
	if _, err := b.Subscribe("a..b", "", rec("x")); err == nil {
		t.Error("subscribed to an invalid filter")
	}
	if _, err := b.Subscribe("a", "q.*", rec("x")); err == nil {
		t.Error("subscribed with a queue name that is not a literal")
	}
	if to := b.to("b"); len(to) != 1 || string(to[0].Subject) != "s.x" {
		t.Errorf("recorded for route b: %v; want the message showing s.x", to)
	}
	b.close()
	if err := b.Publish("a.b", "", nil, nil); err == nil {
		t.Error("published after close")
	}
}
