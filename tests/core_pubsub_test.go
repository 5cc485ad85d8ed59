package tests

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

func TestCorePubSub(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	sub := connectNATS(t, s)
	pub := connectNATS(t, s)

	ss, err := sub.SubscribeSync("greet.joe")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, sub)
	for _, subj := range []string{"greet.joe", "greet.sue", "greet.joe.x", "greet"} {
		if err := pub.PublishMsg(&nats.Msg{Subject: subj, Reply: "r." + subj, Data: []byte("hi " + subj)}); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, pub, sub)

	msgs := drainPending(t, ss)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages; want 1", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "greet.joe" || m.Reply != "r.greet.joe" || string(m.Data) != "hi greet.joe" {
		t.Errorf("got %q reply %q data %q; want greet.joe reply r.greet.joe data %q", m.Subject, m.Reply, m.Data, "hi greet.joe")
	}

	// After Unsubscribe nothing more is delivered.
	if err := ss.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, sub)
	waitUntil(t, func() error {
		if n := s.Stats().Subscriptions; n != 0 {
			return fmt.Errorf("server has %d subscriptions; want 0", n)
		}
		return nil
	})
}

// matchOracle is a brute-force subject matcher, independent of the server's
// and the protocol package's: '*' matches one token, a final '>' one or
// more.
func matchOracle(filter, subject string) bool {
	f := strings.Split(filter, ".")
	s := strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" && i == len(f)-1 {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func TestCoreMatchOracle(t *testing.T) {
	tests := []struct {
		filter, subject string
		want            bool
	}{
		{"a", "a", true},
		{"a", "b", false},
		{"a.*", "a.b", true},
		{"a.*", "a", false},
		{"a.*", "a.b.c", false},
		{"a.>", "a", false},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c", true},
		{">", "a", true},
		{"*.b.>", "a.b", false},
		{"*.b.>", "x.b.c", true},
		{"a*.b", "a*.b", true},
		{"a*.b", "ax.b", false},
	}
	for _, tt := range tests {
		if got := matchOracle(tt.filter, tt.subject); got != tt.want {
			t.Errorf("matchOracle(%q, %q) = %v; want %v", tt.filter, tt.subject, got, tt.want)
		}
	}
}

// randomSubject returns 1 to 4 tokens from a small alphabet, so that random
// filters match often.
func randomSubject(r *rand.Rand) string {
	toks := make([]string, 1+r.IntN(4))
	for i := range toks {
		toks[i] = string(rune('a' + r.IntN(3)))
	}
	return strings.Join(toks, ".")
}

// randomFilter is randomSubject with some tokens replaced by '*' and
// sometimes a final '>'.
func randomFilter(r *rand.Rand) string {
	toks := strings.Split(randomSubject(r), ".")
	for i := range toks {
		if r.IntN(3) == 0 {
			toks[i] = "*"
		}
	}
	if r.IntN(3) == 0 {
		toks[len(toks)-1] = ">"
	}
	return strings.Join(toks, ".")
}

func TestCoreWildcardsAgainstOracle(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))

	s := startCoreServer(t, server.Options{})
	subc := connectNATS(t, s)
	pub := connectNATS(t, s)

	const nFilters, nMsgs = 80, 600
	filters := make([]string, nFilters)
	subs := make([]*nats.Subscription, nFilters)
	for i := range filters {
		filters[i] = randomFilter(r)
		sub, err := subc.SubscribeSync(filters[i])
		if err != nil {
			t.Fatalf("SubscribeSync(%q): %v", filters[i], err)
		}
		subs[i] = sub
	}
	flushNATS(t, subc)

	subjects := make([]string, nMsgs)
	for i := range subjects {
		subjects[i] = randomSubject(r)
		if err := pub.Publish(subjects[i], []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, pub, subc)

	for i, f := range filters {
		var want, got []string
		for j, subj := range subjects {
			if matchOracle(f, subj) {
				want = append(want, subj+"#"+strconv.Itoa(j))
			}
		}
		for _, m := range drainPending(t, subs[i]) {
			got = append(got, m.Subject+"#"+string(m.Data))
		}
		if !slices.Equal(got, want) {
			t.Errorf("filter %q: got %d messages %v; want %d %v", f, len(got), got, len(want), want)
		}
	}
}

func TestCoreQueueGroups(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	conns := []*nats.Conn{connectNATS(t, s), connectNATS(t, s)}
	pub := connectNATS(t, s)

	groups := map[string]int{"g1": 3, "g2": 4} // group name → members
	type member struct {
		group string
		sub   *nats.Subscription
	}
	var members []member
	k := 0
	for g, n := range groups {
		for range n {
			sub, err := conns[k%2].QueueSubscribeSync("work.>", g)
			if err != nil {
				t.Fatal(err)
			}
			sub.SetPendingLimits(-1, -1)
			members = append(members, member{g, sub})
			k++
		}
	}
	plain := make([]*nats.Subscription, 2)
	for i := range plain {
		sub, err := conns[i].SubscribeSync("work.*")
		if err != nil {
			t.Fatal(err)
		}
		plain[i] = sub
	}
	flushNATS(t, conns...)

	const n = 1000
	for i := range n {
		if err := pub.Publish("work.item", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, pub)
	flushNATS(t, conns...)

	// seen[group][i] counts deliveries of message i within the group.
	seen := map[string][]int{}
	for g := range groups {
		seen[g] = make([]int, n)
	}
	for _, m := range members {
		msgs := drainPending(t, m.sub)
		// Random choice: 1000 messages over at most 4 members should not
		// leave any of them with under a third of its fair share.
		if min := n / groups[m.group] / 3; len(msgs) < min {
			t.Errorf("member of %s got %d messages; want at least %d (load spread)", m.group, len(msgs), min)
		}
		for _, msg := range msgs {
			i, err := strconv.Atoi(string(msg.Data))
			if err != nil || i < 0 || i >= n {
				t.Fatalf("unexpected payload %q", msg.Data)
			}
			seen[m.group][i]++
		}
	}
	for g, counts := range seen {
		for i, c := range counts {
			if c != 1 {
				t.Errorf("group %s: message %d delivered %d times; want 1", g, i, c)
			}
		}
	}
	for i, sub := range plain {
		msgs := drainPending(t, sub)
		if len(msgs) != n {
			t.Errorf("plain subscriber %d got %d messages; want %d", i, len(msgs), n)
		}
	}
}

func TestCoreAutoUnsubscribe(t *testing.T) {
	tests := []struct {
		name   string
		before int // messages delivered before AutoUnsubscribe
		max    int
	}{
		{"from the start", 0, 5},
		{"after some deliveries", 3, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startCoreServer(t, server.Options{})
			subc := connectNATS(t, s)
			pub := connectNATS(t, s)
			sub, err := subc.SubscribeSync("auto")
			if err != nil {
				t.Fatal(err)
			}
			flushNATS(t, subc)
			publishN(t, pub, "auto", tt.before)
			flushNATS(t, pub, subc)
			if got := len(drainPending(t, sub)); got != tt.before {
				t.Fatalf("before AutoUnsubscribe got %d messages; want %d", got, tt.before)
			}
			if err := sub.AutoUnsubscribe(tt.max); err != nil {
				t.Fatal(err)
			}
			flushNATS(t, subc)
			publishN(t, pub, "auto", 20)
			flushNATS(t, pub, subc)
			if got, want := len(drainPending(t, sub)), tt.max-tt.before; got != want {
				t.Errorf("after AutoUnsubscribe(%d) got %d messages; want %d", tt.max, got, want)
			}
			waitUntil(t, func() error {
				if n := s.Stats().Subscriptions; n != 0 {
					return fmt.Errorf("server still has %d subscriptions; want 0", n)
				}
				return nil
			})
		})
	}
}

// TestCoreAutoUnsubscribeRaw checks the server's own count, which nats.go
// would otherwise hide by dropping extra messages itself.
func TestCoreAutoUnsubscribeRaw(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	rc.connect("")
	pub := connectNATS(t, s)

	// Each step sends its operations, then has 'pubs' messages published
	// on its subscription's subject, and checks what the sid received.
	tests := []struct {
		name         string
		send         string
		subject, sid string
		pubs         int
		wantPayloads []string
	}{
		{"max given with SUB", "SUB a 1\r\nUNSUB 1 3\r\n", "a", "1", 10, []string{"0", "1", "2"}},
		{"no max yet", "SUB b 2\r\n", "b", "2", 2, []string{"0", "1"}},
		{"max 5 after 2 deliveries", "UNSUB 2 5\r\n", "b", "2", 10, []string{"0", "1", "2"}},
		{"no max again", "SUB c 3\r\n", "c", "3", 4, []string{"0", "1", "2", "3"}},
		{"max below deliveries", "UNSUB 3 2\r\n", "c", "3", 4, nil},
	}
	for _, tt := range tests {
		rc.send(tt.send)
		rc.ping()
		publishN(t, pub, tt.subject, tt.pubs)
		flushNATS(t, pub)
		var got []string
		for _, m := range rc.collectUntilPong() {
			if m.subject != tt.subject || m.sid != tt.sid {
				t.Errorf("%s: got MSG %s sid %s; want %s sid %s", tt.name, m.subject, m.sid, tt.subject, tt.sid)
			}
			got = append(got, string(m.data))
		}
		if !slices.Equal(got, tt.wantPayloads) {
			t.Errorf("%s: got payloads %q; want %q", tt.name, got, tt.wantPayloads)
		}
	}
	waitUntil(t, func() error {
		if n := s.Stats().Subscriptions; n != 0 {
			return fmt.Errorf("server still has %d subscriptions; want 0", n)
		}
		return nil
	})
}

// publishN publishes n messages whose payloads are their indexes.
func publishN(t testing.TB, nc *nats.Conn, subject string, n int) {
	t.Helper()
	for i := range n {
		if err := nc.Publish(subject, []byte(strconv.Itoa(i))); err != nil {
			t.Fatalf("Publish(%s) #%d: %v", subject, i, err)
		}
	}
}

func TestCoreNoEcho(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	quiet := connectNATS(t, s, nats.NoEcho())
	other := connectNATS(t, s)

	qs, err := quiet.SubscribeSync("chat")
	if err != nil {
		t.Fatal(err)
	}
	es, err := other.SubscribeSync("chat")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, quiet, other)
	if err := quiet.Publish("chat", []byte("from quiet")); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, quiet)
	if err := other.Publish("chat", []byte("from other")); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, other, quiet)

	tests := []struct {
		name string
		sub  *nats.Subscription
		want []string
	}{
		{"no-echo client", qs, []string{"from other"}},
		{"echo client", es, []string{"from quiet", "from other"}},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range drainPending(t, tt.sub) {
			got = append(got, string(m.Data))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s got %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestCoreOrdering(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	subc := connectNATS(t, s)
	pub := connectNATS(t, s)

	const n = 10000
	var (
		mu   sync.Mutex
		next int
		errs []string
	)
	done := make(chan struct{})
	_, err := subc.Subscribe("seq", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if got := string(m.Data); got != strconv.Itoa(next) && len(errs) < 10 {
			errs = append(errs, fmt.Sprintf("message %d has payload %q", next, got))
		}
		if next++; next == n {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, subc)
	publishN(t, pub, "seq", n)
	flushNATS(t, pub)

	select {
	case <-done:
	case <-time.After(testTimeout):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("got %d of %d messages", next, n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
}

// A queue member that reaches its auto-unsubscribe count leaves the group;
// the rest of the group takes over without losing a message.
func TestCoreQueueAutoUnsubscribe(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	rc.connect("")
	rc.send("SUB work q 1\r\nUNSUB 1 3\r\nSUB work q 2\r\n")
	rc.ping()
	pub := connectNATS(t, s)
	const n = 40
	publishN(t, pub, "work", n)
	flushNATS(t, pub)

	perSid := map[string]int{}
	seen := make([]int, n)
	for _, m := range rc.collectUntilPong() {
		perSid[m.sid]++
		i, err := strconv.Atoi(string(m.data))
		if err != nil || i < 0 || i >= n {
			t.Fatalf("unexpected payload %q", m.data)
		}
		seen[i]++
	}
	if perSid["1"] != 3 || perSid["2"] != n-3 {
		t.Errorf("deliveries per sid = %v; want 1:3 2:%d", perSid, n-3)
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("message %d delivered %d times; want 1", i, c)
		}
	}
}

func TestCoreStats(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	base := s.Stats()
	subs := []*nats.Conn{connectNATS(t, s), connectNATS(t, s)}
	for _, nc := range subs {
		if _, err := nc.SubscribeSync("stats.*"); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, subs...)
	pub := connectNATS(t, s)
	const n, size = 10, 5
	for range n {
		if err := pub.Publish("stats.x", []byte("12345")); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, pub)
	flushNATS(t, subs...)

	st := s.Stats()
	tests := []struct {
		name      string
		got, want int64
	}{
		{"Connections", int64(st.Connections), 3},
		{"TotalConnections", st.TotalConnections - base.TotalConnections, 3},
		{"Subscriptions", int64(st.Subscriptions), 2},
		{"InMsgs", st.InMsgs - base.InMsgs, n},
		{"InBytes", st.InBytes - base.InBytes, n * size},
		{"OutMsgs", st.OutMsgs - base.OutMsgs, 2 * n},
		{"OutBytes", st.OutBytes - base.OutBytes, 2 * n * size},
		{"SlowConsumers", st.SlowConsumers, 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d; want %d", tt.name, tt.got, tt.want)
		}
	}

	// A closed connection's subscriptions go, and its counts stay.
	pub.Close()
	subs[0].Close()
	waitUntil(t, func() error {
		st := s.Stats()
		if st.Connections != 1 || st.Subscriptions != 1 {
			return fmt.Errorf("Connections = %d, Subscriptions = %d; want 1 and 1", st.Connections, st.Subscriptions)
		}
		return nil
	})
	if got := s.Stats().InMsgs - base.InMsgs; got != n {
		t.Errorf("InMsgs after the publisher left = %d; want %d", got, n)
	}
}
