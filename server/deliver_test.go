package server

import (
	"fmt"
	"strings"
	"testing"
)

// loopServer returns a server that never listens: tests drive its clients'
// parsers directly and read what would have been written.
func loopServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// loopClient returns a connection with no socket and no loops: its read
// loop is the test calling send, its write loop is the test calling
// takeOut.
func loopClient(t testing.TB, s *Server, connect string) *client {
	t.Helper()
	s.mu.Lock()
	s.nextCID++
	c := newClient(s, nil, s.nextCID, kindClient)
	s.clients[c.cid] = c
	s.mu.Unlock()
	if connect != "" {
		send(t, c, "CONNECT "+connect+"\r\n")
	}
	return c
}

// send feeds ops to c's parser as one read, then wakes the touched writers,
// as the read loop does.
func send(t testing.TB, c *client, ops string) {
	t.Helper()
	err := c.parser.Parse([]byte(ops), c)
	c.foldIn()
	c.pc.flush()
	if err != nil {
		t.Fatalf("Parse(%q) = %v", ops, err)
	}
}

// takeOut returns and clears what is queued for c.
func takeOut(c *client) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := string(c.out.bytes())
	c.out.reset()
	return s
}

func expectOut(t *testing.T, c *client, want string) {
	t.Helper()
	if got := takeOut(c); got != want {
		t.Errorf("client %d got %q; want %q", c.cid, got, want)
	}
}

// A producer's own cache of match results must not outlive a change to the
// index: a subscription made after a publish is seen by the next publish,
// and a removed one is not.
func TestProducerCacheGeneration(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, "")
	a := loopClient(t, s, "")
	b := loopClient(t, s, "")

	send(t, pub, "PUB foo.bar 1\r\n1\r\n")
	if got := len(pub.pc.cache); got != 1 {
		t.Fatalf("producer caches %d results after one publish; want 1", got)
	}

	send(t, a, "SUB foo.bar 1\r\n")
	send(t, pub, "PUB foo.bar 1\r\n2\r\n")
	expectOut(t, a, "MSG foo.bar 1 1\r\n2\r\n")

	// A wildcard on a subject only the producer's cache knows.
	send(t, b, "SUB foo.* 7\r\n")
	send(t, pub, "PUB foo.bar 1\r\n3\r\n")
	expectOut(t, a, "MSG foo.bar 1 1\r\n3\r\n")
	expectOut(t, b, "MSG foo.bar 7 1\r\n3\r\n")

	// Unchanged index: the second publish is served by the producer alone.
	before := s.sl.Stats().Matches
	send(t, pub, "PUB foo.bar 1\r\n4\r\nPUB foo.bar 1\r\n5\r\n")
	if got := s.sl.Stats().Matches - before; got != 0 {
		t.Errorf("index consulted %d times for a cached subject; want 0", got)
	}
	takeOut(a)
	takeOut(b)

	// Removed from the index only (not marked closed), so only the
	// generation can stop the delivery.
	b.mu.Lock()
	sub := b.subs["7"]
	b.mu.Unlock()
	if !s.sl.Remove(sub) {
		t.Fatalf("Remove(foo.*) = false")
	}
	send(t, pub, "PUB foo.bar 1\r\n6\r\n")
	expectOut(t, a, "MSG foo.bar 1 1\r\n6\r\n")
	expectOut(t, b, "")
}

// The producer's cache stays bounded however many subjects it sees.
func TestProducerCacheBounded(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, "")
	var ops strings.Builder
	for i := range 3 * maxL1 {
		fmt.Fprintf(&ops, "PUB s.%d 0\r\n\r\n", i)
	}
	send(t, pub, ops.String())
	if n := len(pub.pc.cache); n > maxL1 {
		t.Errorf("producer caches %d results; want at most %d", n, maxL1)
	}
}

func TestDeliverQueueGroup(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, "")
	plain := loopClient(t, s, "")
	send(t, plain, "SUB work.* 1\r\n")
	members := []*client{loopClient(t, s, ""), loopClient(t, s, ""), loopClient(t, s, "")}
	send(t, members[0], "SUB work.a q 1\r\n")
	send(t, members[1], "SUB work.* q 1\r\n")
	send(t, members[2], "SUB work.> q 1\r\nSUB work.> other 2\r\n")

	const n = 300
	for range n {
		send(t, pub, "PUB work.a 2\r\nhi\r\n")
	}
	msg := func(sid string) string { return "MSG work.a " + sid + " 2\r\nhi\r\n" }
	if got := strings.Count(takeOut(plain), msg("1")); got != n {
		t.Errorf("plain subscriber got %d messages; want %d", got, n)
	}
	total, others := 0, 0
	for i, m := range members {
		out := takeOut(m)
		got := strings.Count(out, msg("1"))
		if got == 0 {
			t.Errorf("queue member %d got no message out of %d", i, n)
		}
		total += got
		others += strings.Count(out, msg("2"))
	}
	if total != n {
		t.Errorf("group q got %d messages; want %d (one per message)", total, n)
	}
	if others != n {
		t.Errorf("group other (one member) got %d messages; want %d", others, n)
	}
}

func TestDeliverEchoOff(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, `{"echo":false,"verbose":false}`)
	peer := loopClient(t, s, "")
	send(t, pub, "SUB e 1\r\nSUB e q 2\r\n")
	send(t, peer, "SUB e q 9\r\n")
	for range 20 {
		send(t, pub, "PUB e 1\r\nx\r\n")
	}
	expectOut(t, pub, "")
	if got := strings.Count(takeOut(peer), "MSG e 9 1\r\nx\r\n"); got != 20 {
		t.Errorf("queue peer got %d messages; want all 20 (the publisher is skipped)", got)
	}
}

func TestDeliverAutoUnsubscribe(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, "")
	a := loopClient(t, s, "")
	b := loopClient(t, s, "")
	send(t, a, "SUB m 1\r\nUNSUB 1 2\r\nSUB m q 2\r\nUNSUB 2 1\r\n")
	send(t, b, "SUB m q 3\r\n")
	// The queue pick is random: publish until a's queue member has had its
	// one message (2^-64 odds of never), then four more that must all go
	// to the peer.
	var outA, outB strings.Builder
	sent := 0
	for sent < 64 && !strings.Contains(outA.String(), "MSG m 2 ") {
		send(t, pub, fmt.Sprintf("PUB m 1\r\n%d\r\n", sent%10))
		sent++
		outA.WriteString(takeOut(a))
		outB.WriteString(takeOut(b))
	}
	for range 4 {
		send(t, pub, "PUB m 1\r\nx\r\n")
		sent++
	}
	outA.WriteString(takeOut(a))
	outB.WriteString(takeOut(b))
	got := outA.String()
	if n := strings.Count(got, "MSG m 1 "); n != 2 {
		t.Errorf("UNSUB 1 2: got %d messages; want 2 (%q)", n, got)
	}
	if n := strings.Count(got, "MSG m 2 "); n != 1 {
		t.Errorf("UNSUB 2 1: got %d messages; want 1 (%q)", n, got)
	}
	if n := strings.Count(outB.String(), "MSG m 3 "); n != sent-1 {
		t.Errorf("queue peer got %d of %d messages; want all but the one its auto-unsubscribed member took", n, sent)
	}
	if n := s.sl.Count(); n != 1 {
		t.Errorf("index holds %d subscriptions; want 1 (the peer's)", n)
	}
	a.mu.Lock()
	left := len(a.subs)
	a.mu.Unlock()
	if left != 0 {
		t.Errorf("client keeps %d subscriptions after auto-unsubscribe; want 0", left)
	}
}

func TestDeliverHeaders(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, `{"headers":true,"verbose":false}`)
	withHdr := loopClient(t, s, `{"headers":true,"verbose":false}`)
	noHdr := loopClient(t, s, `{"verbose":false}`)
	send(t, withHdr, "SUB h 1\r\n")
	send(t, noHdr, "SUB h 2\r\n")
	send(t, pub, "HPUB h r 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n")
	expectOut(t, withHdr, "HMSG h 1 r 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n")
	expectOut(t, noHdr, "MSG h 2 r 5\r\nhello\r\n")
}

func TestDeliverNoResponders(t *testing.T) {
	s := loopServer(t, Options{})
	req := loopClient(t, s, `{"headers":true,"no_responders":true,"verbose":false}`)
	other := loopClient(t, s, "")
	send(t, req, "SUB _INBOX.x 5\r\n")
	send(t, other, "SUB _INBOX.x 6\r\n")
	send(t, req, "PUB svc _INBOX.x 2\r\nhi\r\n")
	out := takeOut(req)
	if !strings.HasPrefix(out, "HMSG _INBOX.x 5 ") || !strings.Contains(out, "NATS/1.0 503") {
		t.Errorf("requester got %q; want a 503 HMSG on its inbox", out)
	}
	expectOut(t, other, "")

	// With a responder there is no status.
	send(t, other, "SUB svc 1\r\n")
	send(t, req, "PUB svc _INBOX.x 2\r\nhi\r\n")
	expectOut(t, req, "")
	expectOut(t, other, "MSG svc 1 _INBOX.x 2\r\nhi\r\n")
}

func TestDeliverSlowConsumer(t *testing.T) {
	s := loopServer(t, Options{MaxPending: 100})
	pub := loopClient(t, s, "")
	slow := loopClient(t, s, "")
	fine := loopClient(t, s, "")
	send(t, slow, "SUB s 1\r\n")
	send(t, fine, "SUB s 1\r\n")
	payload := strings.Repeat("x", 40)
	for range 3 {
		send(t, pub, "PUB s 40\r\n"+payload+"\r\n")
		takeOut(fine)
	}
	slow.mu.Lock()
	closed, reason := slow.closed, slow.reason
	slow.mu.Unlock()
	if !closed || reason != reasonSlowConsumer {
		t.Errorf("slow consumer: closed = %v, reason %q; want true, %q", closed, reason, reasonSlowConsumer)
	}
	if n := s.Stats().SlowConsumers; n != 1 {
		t.Errorf("SlowConsumers = %d; want 1", n)
	}
	send(t, pub, "PUB s 40\r\n"+payload+"\r\n")
	expectOut(t, fine, "MSG s 1 40\r\n"+payload+"\r\n")
	expectOut(t, slow, "")
}

// An UNSUB with a max that races a delivery can set max only after the
// delivery that reached it went by; the next delivery must remove the
// subscription instead of skipping it forever.
func TestDeliverMaxReachedByRace(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, "")
	a := loopClient(t, s, "")
	send(t, a, "SUB r 1\r\n")
	send(t, pub, "PUB r 1\r\nx\r\nPUB r 1\r\nx\r\n")
	takeOut(a)
	a.mu.Lock()
	sub := a.subs["1"]
	a.mu.Unlock()
	sub.max.Store(2) // what UNSUB 1 2 stores when it read nm as 1
	send(t, pub, "PUB r 1\r\ny\r\n")
	expectOut(t, a, "")
	if n := s.sl.Count(); n != 0 {
		t.Errorf("index holds %d subscriptions after max was passed; want 0", n)
	}
	if !sub.closed.Load() {
		t.Errorf("subscription not closed after max was passed")
	}
}
