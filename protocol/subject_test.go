package protocol

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestValidSubject(t *testing.T) {
	tests := []struct {
		s                 string
		wfilter, wliteral bool
		wwildcard         bool // IsFilter, for valid subjects
	}{
		{"foo", true, true, false},
		{"foo.bar", true, true, false},
		{"FOO.Bar", true, true, false},
		{"$JS.API.STREAM.INFO.S", true, true, false},
		{"a.b.c.d.e.f.g.h", true, true, false},
		{"föö.bär", true, true, false},
		{"foo*.bar", true, true, false},
		{"foo.*bar", true, true, false},
		{"foo>", true, true, false},
		{"foo.>bar", true, true, false},
		{"**", true, true, false},
		{">>", true, true, false},
		{"*", true, false, true},
		{">", true, false, true},
		{"foo.*", true, false, true},
		{"foo.>", true, false, true},
		{"*.bar", true, false, true},
		{"foo.*.bar", true, false, true},
		{"*.>", true, false, true},
		{"*.*", true, false, true},
		{"$JS.API.>", true, false, true},
		{"", false, false, false},
		{".", false, false, false},
		{"..", false, false, false},
		{".foo", false, false, false},
		{"foo.", false, false, false},
		{"foo..bar", false, false, false},
		{"foo.>.bar", false, false, false},
		{">.foo", false, false, false},
		{"foo.>.>", false, false, false},
		{"foo.*.", false, false, false},
		{"foo bar", false, false, false},
		{"foo\tbar", false, false, false},
		{"foo\rbar", false, false, false},
		{"foo\nbar", false, false, false},
		{"foo\fbar", false, false, false},
		{"foo ", false, false, false},
		{" ", false, false, false},
		{"*. ", false, false, false},
		// '*' and '>' inside a longer token are literal bytes.
		{"foo*", true, true, false},
		{"foo.b>", true, true, false},
		{"*foo.>", true, false, true},
		// Control bytes other than the five separators are literal bytes.
		{"foo\vbar", true, true, false},
		{"foo\x00bar", true, true, false},
		{"foo.\x01.*", true, false, true},
		{"foo\x7fbar", true, true, false},
		{"\x1b[31m", true, true, false},
		{"foo.\r", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := ValidFilter(tt.s); got != tt.wfilter {
				t.Errorf("ValidFilter(%q) = %v; want %v", tt.s, got, tt.wfilter)
			}
			if got := ValidFilterBytes([]byte(tt.s)); got != tt.wfilter {
				t.Errorf("ValidFilterBytes(%q) = %v; want %v", tt.s, got, tt.wfilter)
			}
			if got := ValidLiteral(tt.s); got != tt.wliteral {
				t.Errorf("ValidLiteral(%q) = %v; want %v", tt.s, got, tt.wliteral)
			}
			if got := ValidLiteralBytes([]byte(tt.s)); got != tt.wliteral {
				t.Errorf("ValidLiteralBytes(%q) = %v; want %v", tt.s, got, tt.wliteral)
			}
			if err := CheckFilter(tt.s); (err == nil) != tt.wfilter {
				t.Errorf("CheckFilter(%q) = %v; want valid = %v", tt.s, err, tt.wfilter)
			}
			if _, ok := SplitFilter(tt.s); ok != tt.wfilter {
				t.Errorf("SplitFilter(%q) ok = %v; want %v", tt.s, ok, tt.wfilter)
			}
			if !tt.wfilter {
				return // IsFilter is defined for valid subjects only
			}
			if got := IsFilter(tt.s); got != tt.wwildcard {
				t.Errorf("IsFilter(%q) = %v; want %v", tt.s, got, tt.wwildcard)
			}
		})
	}
}

func TestCheckFilter(t *testing.T) {
	tests := []struct {
		in   string
		werr string
	}{
		{"foo", ""},
		{"foo.bar", ""},
		{"foo.*", ""},
		{"*.bar.>", ""},
		{">", ""},
		{"*", ""},
		{"_INBOX.>", ""},
		{"$JS.API.>", ""},
		{"sensors.plant-1.line_3", ""},
		{"", "subject is empty"},
		{".foo", `subject ".foo" has an empty token`},
		{"foo.", `subject "foo." has an empty token`},
		{"foo..bar", `subject "foo..bar" has an empty token`},
		{"foo.>.bar", `subject "foo.>.bar" has '>' before its last token`},
		{">.foo", `subject ">.foo" has '>' before its last token`},
		{"foo*", ""},
		{"foo.b>", ""},
		{"**", ""},
		{"foo\vbar", ""},
		{"foo bar", `subject "foo bar" contains whitespace`},
		{"foo\tbar", `subject "foo\tbar" contains whitespace`},
		{"foo\r\n", `subject "foo\r\n" contains whitespace`},
		{"foo.>.", `subject "foo.>." has '>' before its last token`},
	}
	for _, tt := range tests {
		if got := errText(CheckFilter(tt.in)); got != tt.werr {
			t.Errorf("CheckFilter(%q) = %q; want %q", tt.in, got, tt.werr)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestValidSubjectBytesAllocs(t *testing.T) {
	b := []byte("foo.*.bar.>")
	if n := testing.AllocsPerRun(100, func() {
		ValidFilterBytes(b)
		ValidLiteralBytes(b)
		MatchLiteral(b[:7], "foo.*")
	}); n != 0 {
		t.Errorf("allocs = %v; want 0", n)
	}
}

func TestMatchLiteral(t *testing.T) {
	tests := []struct {
		subject, filter string
		want            bool
	}{
		{"foo.bar", "foo.bar", true},
		{"foo.bar", "foo.baz", false},
		{"foo.bar", "foo.*", true},
		{"foo.bar.baz", "foo.>", true},
		{"foo.bar", "foo.>", true},
		{"foo", "foo.>", false},
		{"foo.bar", "*.bar.>", false},
		{"foo.bar.baz", "*.bar.>", true},
		{"foo", ">", true},
		{"foo.bar.baz", ">", true},
		{"foo", "*", true},
		{"foo.bar", "*", false},
		{"foo.bar", "*.*", true},
		{"foo.bar.baz", "*.*", false},
		{"foo", "*.*", false},
		{"foo.bar", "foo", false},
		{"foo", "foo.bar", false},
		{"foo.bar.baz", "foo.*.baz", true},
		{"foo.bar.baz", "foo.*.bax", false},
		{"Foo.bar", "foo.bar", false},
		{"fo", "foo", false},
		{"foo", "fo", false},
		{"foo.barx", "foo.bar", false},
		{"foo.bar", "foo.barx", false},
		{"foox.bar", "foo.*", false},
		{"a.b.c", "a.b.c.>", false},
		{"a.b.c.d", "a.b.c.>", true},
		{"a.b.c.d", "a.*.c.*", true},
		{"a.b.c.d", "a.*.c", false},
		// Wildcard characters inside a token are literal.
		{"foo*.bar", "foo*.bar", true},
		{"foox.bar", "foo*.bar", false},
		{"foo.bar", "foo.b>", false},
		// A wildcard token in the subject is compared literally.
		{"foo.*", "foo.*", true},
		{"foo.*", "foo.bar", false},
		{"foo.>", "foo.bar", false},
	}
	for _, tt := range tests {
		t.Run(tt.subject+" vs "+tt.filter, func(t *testing.T) {
			if got := MatchLiteral(tt.subject, tt.filter); got != tt.want {
				t.Errorf("MatchLiteral(%q, %q) = %v; want %v", tt.subject, tt.filter, got, tt.want)
			}
			if got := MatchLiteral([]byte(tt.subject), tt.filter); got != tt.want {
				t.Errorf("MatchLiteral([]byte(%q), %q) = %v; want %v", tt.subject, tt.filter, got, tt.want)
			}
			if got := matchOracle(tt.subject, tt.filter); got != tt.want {
				t.Errorf("matchOracle(%q, %q) = %v; want %v (oracle is wrong)", tt.subject, tt.filter, got, tt.want)
			}
		})
	}
}

func TestSubsetOf(t *testing.T) {
	tests := []struct {
		filter, super string
		want          bool
	}{
		{"foo.bar", "foo.bar", true},
		{"foo.bar", "foo.*", true},
		{"foo.*", "foo.bar", false},
		{"foo.*", "foo.*", true},
		{"foo.*", "foo.>", true},
		{"foo.>", "foo.*", false},
		{"foo.>", "foo.>", true},
		{"foo.bar.baz", "foo.>", true},
		{"foo", "foo.>", false},
		{"foo.>", ">", true},
		{">", "foo.>", false},
		{"*", ">", true},
		{">", "*", false},
		{">", ">", true},
		{"*.*", "*.>", true},
		{"*.>", "*.*", false},
		{"foo.*", "*.*", true},
		{"*.bar", "foo.*", false},
		{"a.b", "a.b.c", false},
		{"a.b.c", "a.b", false},
		{"foo.bar.>", "foo.*.>", true},
		{"foo.*.>", "foo.bar.>", false},
		{"foo.bar", "foo.baz", false},
		{"foo*.bar", "*.bar", true},
		{"*.bar", "foo*.bar", false},
	}
	for _, tt := range tests {
		t.Run(tt.filter+" in "+tt.super, func(t *testing.T) {
			if got := SubsetOf(tt.filter, tt.super); got != tt.want {
				t.Errorf("SubsetOf(%q, %q) = %v; want %v", tt.filter, tt.super, got, tt.want)
			}
		})
	}
}

func TestOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo.*", "foo.bar", true},
		{"foo.*", "*.bar", true},
		{"foo.>", "foo", false},
		{"foo.>", "foo.bar.baz", true},
		{"foo.>", "foo.*", true},
		{">", "foo", true},
		{">", "foo.bar.baz", true},
		{"*", "foo.bar", false},
		{"*.>", "foo", false},
		{"*.>", "foo.bar", true},
		{"foo.*.baz", "foo.bar.*", true},
		{"foo.*.baz", "foo.bar.qux", false},
		{"a.b.c", "a.b", false},
		{"*.*", ">", true},
		{"*.*", "*", false},
		{"foo.bar", "foo.baz", false},
		{"foo.>", "bar.>", false},
		{"a.*.c.>", "*.b.*.d", true},
		{"a.*.c.>", "*.b.*", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" and "+tt.b, func(t *testing.T) {
			if got := Overlap(tt.a, tt.b); got != tt.want {
				t.Errorf("Overlap(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
			}
			if got := Overlap(tt.b, tt.a); got != tt.want {
				t.Errorf("Overlap(%q, %q) = %v; want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestNumTokens(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"foo", 1},
		{">", 1},
		{"foo.bar", 2},
		{"foo.*.>", 3},
		{"a.b.c.d", 4},
		{"$JS.API.CONSUMER.MSG.NEXT.S.C", 7},
	}
	for _, tt := range tests {
		if got := NumTokens(tt.s); got != tt.want {
			t.Errorf("NumTokens(%q) = %d; want %d", tt.s, got, tt.want)
		}
	}
}

// matchOracle is MatchLiteral written the obvious way, token by token.
func matchOracle(subject, filter string) bool {
	st, ft := strings.Split(subject, "."), strings.Split(filter, ".")
	for i, f := range ft {
		if f == ">" && i == len(ft)-1 {
			return len(st) > i
		}
		if i >= len(st) {
			return false
		}
		if f != "*" && f != st[i] {
			return false
		}
	}
	return len(st) == len(ft)
}

// joinTokens builds every subject of 1..maxTokens tokens drawn from tokens,
// keeping those valid for keep.
func joinTokens(tokens []string, maxTokens int, keep func(string) bool) []string {
	var out []string
	level := []string{""}
	for n := 1; n <= maxTokens; n++ {
		var next []string
		for _, prefix := range level {
			for _, tok := range tokens {
				s := tok
				if prefix != "" {
					s = prefix + "." + tok
				}
				next = append(next, s)
				if keep(s) {
					out = append(out, s)
				}
			}
		}
		level = next
	}
	return out
}

// TestSubjectAlgebraExhaustive checks MatchLiteral, Overlap and SubsetOf
// against brute force over a small universe. Filters have up to three
// tokens from {a, b, *, >}; literal subjects have up to four tokens from
// {a, b, c}, which is long enough to witness any overlap or any
// non-containment between such filters ("c" stands for every other token).
func TestSubjectAlgebraExhaustive(t *testing.T) {
	filters := joinTokens([]string{"a", "b", "*", ">"}, 3, ValidFilter)
	literals := joinTokens([]string{"a", "b", "c"}, 4, ValidLiteral)
	matched := make(map[string][]bool, len(filters))
	for _, f := range filters {
		m := make([]bool, len(literals))
		for i, s := range literals {
			m[i] = MatchLiteral(s, f)
			if o := matchOracle(s, f); m[i] != o {
				t.Errorf("MatchLiteral(%q, %q) = %v; oracle says %v", s, f, m[i], o)
			}
		}
		matched[f] = m
	}
	for _, a := range filters {
		for _, b := range filters {
			overlap, subset := false, true
			for i := range literals {
				ma, mb := matched[a][i], matched[b][i]
				overlap = overlap || (ma && mb)
				subset = subset && (!ma || mb)
			}
			if got := Overlap(a, b); got != overlap {
				t.Errorf("Overlap(%q, %q) = %v; brute force says %v", a, b, got, overlap)
			}
			if got := SubsetOf(a, b); got != subset {
				t.Errorf("SubsetOf(%q, %q) = %v; brute force says %v", a, b, got, subset)
			}
			checkTokensAgree(t, a, b, literals)
		}
	}
}

// checkTokensAgree fails unless the functions over split filters answer
// as those over whole subjects do, for filters a and b and literals lits.
func checkTokensAgree(t *testing.T, a, b string, lits []string) {
	t.Helper()
	at, aok := SplitFilter(a)
	bt, bok := SplitFilter(b)
	if !aok || !bok {
		t.Fatalf("SplitFilter refuses %q (%v) or %q (%v), which ValidFilter accepts", a, aok, b, bok)
	}
	if got, want := SubsetOfTokens(at, bt), SubsetOf(a, b); got != want {
		t.Fatalf("SubsetOfTokens(%q, %q) = %v; SubsetOf says %v", a, b, got, want)
	}
	if got, want := OverlapTokens(at, bt), Overlap(a, b); got != want {
		t.Fatalf("OverlapTokens(%q, %q) = %v; Overlap says %v", a, b, got, want)
	}
	for _, s := range lits {
		if !ValidLiteral(s) {
			continue
		}
		if got, want := MatchTokens(s, at), MatchLiteral(s, a); got != want {
			t.Fatalf("MatchTokens(%q, %q) = %v; MatchLiteral says %v", s, a, got, want)
		}
		if got, want := MatchTokens([]byte(s), bt), MatchLiteral(s, b); got != want {
			t.Fatalf("MatchTokens([]byte(%q), %q) = %v; MatchLiteral says %v", s, b, got, want)
		}
	}
}

// randSubject returns a random valid subject of 1..5 tokens. Tokens come
// from a small alphabet so that matches are common; with wildcards it may
// include "*" anywhere and ">" last.
func randSubject(r *rand.Rand, wildcards bool) string {
	tokens := []string{"a", "b", "ab", "a*", "b>", "x"}
	n := 1 + r.IntN(5)
	parts := make([]string, n)
	for i := range parts {
		switch k := r.IntN(10); {
		case wildcards && k == 0:
			parts[i] = "*"
		case wildcards && k == 1 && i == n-1:
			parts[i] = ">"
		default:
			parts[i] = tokens[r.IntN(len(tokens))]
		}
	}
	return strings.Join(parts, ".")
}

// TestSubjectAlgebraRandom checks, on random filters, that MatchLiteral
// agrees with the oracle and that SubsetOf and Overlap are consistent with
// it: a subset overlaps its superset, and every literal matched by a subset
// is matched by its superset.
func TestSubjectAlgebraRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lits := make([]string, 300)
	for i := range lits {
		lits[i] = randSubject(r, false)
	}
	for range 3000 {
		a, b := randSubject(r, true), randSubject(r, true)
		checkSubjectAlgebra(t, a, b, lits)
	}
}

func checkSubjectAlgebra(t *testing.T, a, b string, lits []string) {
	t.Helper()
	sub, ov := SubsetOf(a, b), Overlap(a, b)
	checkTokensAgree(t, a, b, append(lits, a, b))
	if ov != Overlap(b, a) {
		t.Fatalf("Overlap(%q, %q) = %v but Overlap(%q, %q) = %v", a, b, ov, b, a, !ov)
	}
	if sub && !ov {
		t.Fatalf("SubsetOf(%q, %q) but not Overlap", a, b)
	}
	if !SubsetOf(a, a) || !Overlap(a, a) {
		t.Fatalf("%q is not a subset of, or overlapping with, itself", a)
	}
	for _, s := range append(lits, a, b) {
		ma, mb := MatchLiteral(s, a), MatchLiteral(s, b)
		if o := matchOracle(s, a); ma != o {
			t.Fatalf("MatchLiteral(%q, %q) = %v; oracle says %v", s, a, ma, o)
		}
		if sub && ma && !mb {
			t.Fatalf("SubsetOf(%q, %q) but %q matches only the first", a, b, s)
		}
		if ma && mb && !ov {
			t.Fatalf("%q matches %q and %q but Overlap is false", s, a, b)
		}
	}
}

func FuzzMatchLiteral(f *testing.F) {
	f.Add("foo.bar", "foo.*", "foo.>")
	f.Add("foo", "foo.>", ">")
	f.Add("a.b.c", "*.b.>", "a.*.c")
	f.Add("foo*.bar", "foo*.*", "*.bar")
	f.Fuzz(func(t *testing.T, subject, a, b string) {
		if !ValidLiteral(subject) || !ValidFilter(a) || !ValidFilter(b) {
			return
		}
		if got, want := MatchLiteral(subject, a), matchOracle(subject, a); got != want {
			t.Fatalf("MatchLiteral(%q, %q) = %v; oracle says %v", subject, a, got, want)
		}
		checkSubjectAlgebra(t, a, b, []string{subject})
	})
}
