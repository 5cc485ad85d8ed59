package server

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wrenmq/wren/protocol"
)

// slSub returns a subscription for the index alone (no connection).
func slSub(subject, queue string) *subscription {
	return &subscription{subject: subject, queue: queue, sid: subject + "|" + queue}
}

// hasEmptyToken reports whether a subject has an empty token ("", "a.",
// ".a", "a..b"). Such subjects can be published by a non-pedantic client;
// they match nothing.
func hasEmptyToken(s string) bool {
	return s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..")
}

// oracleMatch is the brute-force answer to Match: a linear scan of every
// live subscription with protocol.MatchLiteral.
func oracleMatch(subs []*subscription, subject string) *matchResult {
	r := &matchResult{}
	if hasEmptyToken(subject) {
		return r
	}
	for _, sub := range subs {
		if !protocol.MatchLiteral(subject, sub.subject) {
			continue
		}
		if sub.queue == "" {
			r.psubs = append(r.psubs, sub)
			continue
		}
		i := slices.IndexFunc(r.qsubs, func(g queueGroup) bool { return g.name == sub.queue })
		if i < 0 {
			r.qsubs = append(r.qsubs, queueGroup{name: sub.queue})
			i = len(r.qsubs) - 1
		}
		r.qsubs[i].subs = append(r.qsubs[i].subs, sub)
	}
	return r
}

// describe renders a result in a canonical order, so two results are equal
// as sets exactly when their descriptions are. Duplicates stay visible.
func describe(r *matchResult) string {
	name := func(s *subscription) string { return fmt.Sprintf("%s/%s@%p", s.subject, s.queue, s) }
	var ps []string
	for _, s := range r.psubs {
		ps = append(ps, name(s))
	}
	sort.Strings(ps)
	var gs []string
	for _, g := range r.qsubs {
		var ms []string
		for _, s := range g.subs {
			ms = append(ms, name(s))
		}
		sort.Strings(ms)
		gs = append(gs, g.name+"{"+strings.Join(ms, " ")+"}")
	}
	sort.Strings(gs)
	return "psubs[" + strings.Join(ps, " ") + "] qsubs[" + strings.Join(gs, " ") + "]"
}

// sameResult reports whether two results hold the same subscriptions in
// the same groups, in any order; a duplicate in either makes them differ.
func sameResult(a, b *matchResult) bool {
	if len(a.psubs) != len(b.psubs) || len(a.qsubs) != len(b.qsubs) {
		return false
	}
	seen := make(map[*subscription]string)
	add := func(s *subscription, group string) bool {
		if _, dup := seen[s]; dup {
			return false
		}
		seen[s] = group
		return true
	}
	for _, s := range a.psubs {
		if !add(s, "") {
			return false
		}
	}
	for _, g := range a.qsubs {
		for _, s := range g.subs {
			if !add(s, "q:"+g.name) {
				return false
			}
		}
	}
	n := 0
	for _, s := range b.psubs {
		if g, ok := seen[s]; !ok || g != "" {
			return false
		}
		n++
	}
	names := make(map[string]bool)
	for _, g := range b.qsubs {
		if names[g.name] {
			return false
		}
		names[g.name] = true
		for _, s := range g.subs {
			if grp, ok := seen[s]; !ok || grp != "q:"+g.name {
				return false
			}
			n++
		}
	}
	return n == len(seen)
}

// checkMatch compares Match (and the byte-slice path) with the oracle.
func checkMatch(t *testing.T, sl *Sublist, live []*subscription, subject string) {
	t.Helper()
	want := oracleMatch(live, subject)
	if got := sl.Match(subject); !sameResult(got, want) {
		t.Fatalf("Match(%q) = %s; want %s", subject, describe(got), describe(want))
	}
	if got := sl.matchBytes([]byte(subject)); !sameResult(got, want) {
		t.Fatalf("matchBytes(%q) = %s; want %s", subject, describe(got), describe(want))
	}
}

func TestSublistMatchTable(t *testing.T) {
	subs := map[string]*subscription{
		"foo":         slSub("foo", ""),
		"foo.bar":     slSub("foo.bar", ""),
		"foo.*":       slSub("foo.*", ""),
		"foo.>":       slSub("foo.>", ""),
		"*.bar":       slSub("*.bar", ""),
		">":           slSub(">", ""),
		"foo.*.baz":   slSub("foo.*.baz", ""),
		"q1:foo.bar":  slSub("foo.bar", "q1"),
		"q1:foo.*":    slSub("foo.*", "q1"),
		"q2:foo.>":    slSub("foo.>", "q2"),
		"q1:bar":      slSub("bar", "q1"),
		"q1b:foo.bar": slSub("foo.bar", "q1"),
	}
	sl := NewSublist()
	for _, s := range subs {
		if err := sl.Insert(s); err != nil {
			t.Fatalf("Insert(%q, %q) = %v", s.subject, s.queue, err)
		}
	}
	tests := []struct {
		subject string
		wpsubs  []string
		wqsubs  map[string][]string
	}{
		{"foo", []string{"foo", ">"}, nil},
		{"foo.bar", []string{"foo.bar", "foo.*", "foo.>", "*.bar", ">"},
			map[string][]string{"q1": {"q1:foo.bar", "q1:foo.*", "q1b:foo.bar"}, "q2": {"q2:foo.>"}}},
		{"foo.baz", []string{"foo.*", "foo.>", ">"},
			map[string][]string{"q1": {"q1:foo.*"}, "q2": {"q2:foo.>"}}},
		{"foo.x.baz", []string{"foo.>", "foo.*.baz", ">"}, map[string][]string{"q2": {"q2:foo.>"}}},
		{"foo.x.y", []string{"foo.>", ">"}, map[string][]string{"q2": {"q2:foo.>"}}},
		{"bar", []string{">"}, map[string][]string{"q1": {"q1:bar"}}},
		{"x.bar", []string{"*.bar", ">"}, nil},
		{"x.bar.y", []string{">"}, nil},
		{"baz", []string{">"}, nil},
		// Published wildcard characters are literal tokens.
		{"foo.*", []string{"foo.*", "foo.>", ">"},
			map[string][]string{"q1": {"q1:foo.*"}, "q2": {"q2:foo.>"}}},
		// Empty tokens match nothing, not even '>'.
		{"", nil, nil},
		{"foo.", nil, nil},
		{".bar", nil, nil},
		{"foo..baz", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			want := &matchResult{}
			for _, k := range tt.wpsubs {
				want.psubs = append(want.psubs, subs[k])
			}
			for q, ks := range tt.wqsubs {
				g := queueGroup{name: q}
				for _, k := range ks {
					g.subs = append(g.subs, subs[k])
				}
				want.qsubs = append(want.qsubs, g)
			}
			for pass := range 2 { // cold, then from the cache
				if got := sl.Match(tt.subject); describe(got) != describe(want) {
					t.Errorf("pass %d: Match(%q) = %s; want %s", pass, tt.subject, describe(got), describe(want))
				}
			}
		})
	}
}

func TestSublistInsertInvalid(t *testing.T) {
	tests := []struct{ subject, queue string }{
		{"", ""},
		{"foo.", ""},
		{".foo", ""},
		{"foo..bar", ""},
		{"foo.>.bar", ""},
		{">.foo", ""},
		{"foo bar", ""},
		{"foo\tbar", ""},
		{"foo\r\n", ""},
		{"foo", "q 1"},
		{"foo", "q.*"},
		{"foo", "q.>"},
		{"foo", "q..r"},
	}
	sl := NewSublist()
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%q", tt.subject, tt.queue), func(t *testing.T) {
			gen := sl.genid.Load()
			if err := sl.Insert(slSub(tt.subject, tt.queue)); !errors.Is(err, ErrInvalidSubject) {
				t.Errorf("Insert(%q, %q) = %v; want %v", tt.subject, tt.queue, err, ErrInvalidSubject)
			}
			if sl.Count() != 0 || sl.genid.Load() != gen || !sl.root.isEmpty() {
				t.Errorf("Insert(%q, %q) changed the index", tt.subject, tt.queue)
			}
		})
	}
}

func TestSublistRemove(t *testing.T) {
	sl := NewSublist()
	a, b := slSub("foo.*", ""), slSub("foo.*", "q")
	for _, s := range []*subscription{a, b} {
		if err := sl.Insert(s); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		sub   *subscription
		wok   bool
		wleft int
	}{
		{"unknown, same subject", slSub("foo.*", ""), false, 2},
		{"unknown, same queue", slSub("foo.*", "q"), false, 2},
		{"unknown queue", slSub("foo.*", "r"), false, 2},
		{"unknown subject", slSub("foo.bar", ""), false, 2},
		{"unknown deeper", slSub("foo.*.bar", ""), false, 2},
		{"invalid subject", slSub("foo..bar", ""), false, 2},
		{"plain", a, true, 1},
		{"plain again", a, false, 1},
		{"queue", b, true, 0},
		{"queue again", b, false, 0},
	}
	for _, tt := range tests {
		if got := sl.Remove(tt.sub); got != tt.wok {
			t.Errorf("%s: Remove(%q, %q) = %v; want %v", tt.name, tt.sub.subject, tt.sub.queue, got, tt.wok)
		}
		if got := sl.Count(); got != tt.wleft {
			t.Errorf("%s: Count() = %d; want %d", tt.name, got, tt.wleft)
		}
	}
	if !sl.root.isEmpty() {
		t.Errorf("trie not empty after removing every subscription")
	}
}

func TestSublistInsertTwice(t *testing.T) {
	sl := NewSublist()
	s := slSub("foo", "")
	for range 2 {
		if err := sl.Insert(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := sl.Count(); got != 1 {
		t.Errorf("Count() after inserting one subscription twice = %d; want 1", got)
	}
	if !sl.Remove(s) || sl.Remove(s) {
		t.Errorf("Remove: want true once, then false")
	}
	if got := sl.Count(); got != 0 {
		t.Errorf("Count() after Remove = %d; want 0", got)
	}
}

// trieNodes counts the nodes and levels under l, empty ones included.
func trieNodes(l *sublistLevel) int {
	if l == nil {
		return 0
	}
	n := 1
	for _, nd := range l.nodes {
		n += 1 + trieNodes(nd.next)
	}
	for _, nd := range []*sublistNode{l.pwc, l.fwc} {
		if nd != nil {
			n += 1 + trieNodes(nd.next)
		}
	}
	return n
}

func TestSublistPrune(t *testing.T) {
	long := strings.Repeat("t.", 40) + "end" // more tokens than the stack array
	filters := []string{
		"a", "a.b", "a.b.c", "a.*.c", "a.>", "*", ">", "*.*.>", "a.b.c.d.e.f",
		long, strings.Replace(long, "t.", "*.", 7), long[:len(long)-3] + ">",
	}
	for _, order := range []string{"forward", "reverse", "shuffled"} {
		t.Run(order, func(t *testing.T) {
			sl := NewSublist()
			var subs []*subscription
			for _, f := range filters {
				for _, q := range []string{"", "q"} {
					s := slSub(f, q)
					if err := sl.Insert(s); err != nil {
						t.Fatalf("Insert(%q) = %v", f, err)
					}
					subs = append(subs, s)
				}
			}
			switch order {
			case "reverse":
				slices.Reverse(subs)
			case "shuffled":
				rand.New(rand.NewPCG(1, 2)).Shuffle(len(subs), func(i, j int) { subs[i], subs[j] = subs[j], subs[i] })
			}
			for i, s := range subs {
				sl.Match(s.subject) // keep the cache warm
				if !sl.Remove(s) {
					t.Fatalf("Remove(%q, %q) = false", s.subject, s.queue)
				}
				for _, f := range filters {
					checkMatch(t, sl, subs[i+1:], strings.ReplaceAll(strings.ReplaceAll(f, "*", "x"), ">", "y"))
				}
			}
			if n := trieNodes(sl.root); n != 1 || !sl.root.isEmpty() {
				t.Errorf("after removing everything the trie has %d levels and nodes; want 1 (the root)", n)
			}
			if got := sl.Count(); got != 0 {
				t.Errorf("Count() = %d; want 0", got)
			}
		})
	}
}

// Removing a leaf keeps its parent but frees the level below it.
func TestSublistPrunePartial(t *testing.T) {
	sl := NewSublist()
	ab, abc := slSub("a.b", ""), slSub("a.b.c", "")
	sl.Insert(ab)
	sl.Insert(abc)
	sl.Remove(abc)
	if n := trieNodes(sl.root); n != 4 { // root, a, level, b
		t.Errorf("trie has %d levels and nodes after removing a.b.c; want 4", n)
	}
	checkMatch(t, sl, []*subscription{ab}, "a.b")
}

func TestSublistCacheBounded(t *testing.T) {
	sl := NewSublist()
	s := slSub("x.>", "")
	sl.Insert(s)
	for i := range 3 * maxCache {
		subj := fmt.Sprintf("x.%d", i)
		if r := sl.Match(subj); len(r.psubs) != 1 {
			t.Fatalf("Match(%q) has %d subscribers; want 1", subj, len(r.psubs))
		}
		if n := sl.Stats().Cached; n > maxCache {
			t.Fatalf("cache holds %d results; want at most %d", n, maxCache)
		}
	}
	sl.Remove(s)
	if n := sl.Stats().Cached; n != 0 {
		t.Errorf("cache holds %d results after removing the only filter; want 0", n)
	}
}

// randSubject returns a subject over a small alphabet so that random
// filters and subjects often meet. With wildcards it is a valid filter;
// without, it is anything a non-pedantic client may publish, including
// literal '*' and '>' tokens and empty tokens.
func randSubject(r *rand.Rand, wildcards bool) string {
	n := 1 + r.IntN(4)
	toks := make([]string, n)
	for i := range toks {
		switch k := r.IntN(10); {
		case k < 6:
			toks[i] = string(rune('a' + r.IntN(3)))
		case k < 8:
			toks[i] = "*"
		case k == 8 && (i == n-1 || !wildcards):
			toks[i] = ">"
		case !wildcards && r.IntN(4) == 0:
			toks[i] = ""
		default:
			toks[i] = "a"
		}
	}
	return strings.Join(toks, ".")
}

// probeSubjects is every subject of up to three tokens over {a, b, *, >},
// plus some with empty tokens.
func probeSubjects() []string {
	toks := []string{"a", "b", "*", ">"}
	out := []string{"", ".", "a.", ".a", "a..b", "a.b.", "a.b.c.d"}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		for _, t := range toks {
			s := t
			if prefix != "" {
				s = prefix + "." + t
			}
			out = append(out, s)
			if depth < 3 {
				walk(s, depth+1)
			}
		}
	}
	walk("", 1)
	return out
}

// sublistModel drives a Sublist and the oracle with the same operations.
type sublistModel struct {
	t      *testing.T
	sl     *Sublist
	live   []*subscription
	probes []string
}

func newSublistModel(t *testing.T) *sublistModel {
	m := &sublistModel{t: t, sl: NewSublist(), probes: probeSubjects()}
	m.warm()
	return m
}

// warm fills the result cache with every probe subject.
func (m *sublistModel) warm() {
	for _, p := range m.probes {
		m.sl.Match(p)
	}
}

func (m *sublistModel) insert(filter, queue string) {
	s := slSub(filter, queue)
	err := m.sl.Insert(s)
	valid := protocol.ValidFilter(filter) && (queue == "" || protocol.ValidLiteral(queue))
	if valid != (err == nil) {
		m.t.Fatalf("Insert(%q, %q) = %v; valid = %v", filter, queue, err, valid)
	}
	if err == nil {
		m.live = append(m.live, s)
	}
}

func (m *sublistModel) remove(i int) {
	s := m.live[i]
	if !m.sl.Remove(s) {
		m.t.Fatalf("Remove(%q, %q) = false for a live subscription", s.subject, s.queue)
	}
	m.live = slices.Delete(m.live, i, i+1)
}

// check compares every probe, and subject, with the oracle. Cached results
// that a change should have evicted show up here.
func (m *sublistModel) check(subject string) {
	m.t.Helper()
	checkMatch(m.t, m.sl, m.live, subject)
	for _, p := range m.probes {
		checkMatch(m.t, m.sl, m.live, p)
	}
	if got := m.sl.Count(); got != len(m.live) {
		m.t.Fatalf("Count() = %d; want %d", got, len(m.live))
	}
}

func (m *sublistModel) finish() {
	for len(m.live) > 0 {
		m.remove(len(m.live) - 1)
	}
	m.check("a")
	if !m.sl.root.isEmpty() {
		m.t.Fatalf("trie not empty after removing every subscription")
	}
}

func TestSublistRandom(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			m := newSublistModel(t)
			queues := []string{"", "", "", "q1", "q2"}
			for range 300 {
				subject := randSubject(r, false)
				switch k := r.IntN(10); {
				case k < 5 || len(m.live) == 0:
					m.insert(randSubject(r, true), queues[r.IntN(len(queues))])
				case k < 8:
					m.remove(r.IntN(len(m.live)))
				default:
					m.warm()
				}
				m.check(subject)
			}
			m.finish()
		})
	}
}

func TestSublistConcurrent(t *testing.T) {
	sl := NewSublist()
	probes := probeSubjects()
	const writers, readers, rounds = 4, 4, 1000
	var mu sync.Mutex
	var live []*subscription
	var wg, rwg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			var mine []*subscription
			for range rounds {
				if len(mine) > 0 && r.IntN(3) == 0 {
					i := r.IntN(len(mine))
					if !sl.Remove(mine[i]) {
						t.Errorf("Remove(%q) = false for a live subscription", mine[i].subject)
					}
					mine = slices.Delete(mine, i, i+1)
					continue
				}
				s := slSub(randSubject(r, true), []string{"", "q"}[r.IntN(2)])
				if err := sl.Insert(s); err != nil {
					t.Errorf("Insert(%q) = %v", s.subject, err)
				}
				mine = append(mine, s)
			}
			mu.Lock()
			live = append(live, mine...)
			mu.Unlock()
		})
	}
	for i := range readers {
		rwg.Go(func() {
			var b []byte
			for k := i; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				p := probes[k%len(probes)]
				if k%2 == 0 {
					sl.Match(p)
				} else {
					b = append(b[:0], p...)
					sl.matchBytes(b)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	for _, p := range probes {
		checkMatch(t, sl, live, p)
	}
	if got := sl.Count(); got != len(live) {
		t.Errorf("Count() = %d; want %d", got, len(live))
	}
}

// RemoveBatch agrees with the oracle from a warm cache, for batches of
// literal and wildcard filters, and reports exactly the subscriptions that
// were in the index.
func TestSublistRemoveBatch(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0xba7c4))
			m := newSublistModel(t)
			for range 200 {
				m.insert(randSubject(r, seed%2 == 0 || r.IntN(2) == 0), "")
			}
			m.check("a")
			for len(m.live) > 0 {
				m.warm()
				n := min(len(m.live), 1+r.IntN(20))
				batch := slices.Clone(m.live[:n])
				batch = append(batch, slSub("never.inserted", "")) // not in the index
				want := slices.Clone(batch[:n])
				got := m.sl.RemoveBatch(batch)
				if !slices.Equal(got, want) {
					t.Fatalf("RemoveBatch returned %d subscriptions; want the %d that were in the index", len(got), len(want))
				}
				m.live = slices.Delete(m.live, 0, n)
				m.check(randSubject(r, false))
			}
			if !m.sl.root.isEmpty() {
				t.Fatal("trie not empty after removing every subscription")
			}
		})
	}
}
