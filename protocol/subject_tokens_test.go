package protocol

import (
	"strings"
	"testing"
)

func TestSplitFilter(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"foo", true},
		{"foo.bar", true},
		{"foo.*", true},
		{"foo.>", true},
		{">", true},
		{"*.*", true},
		{"foo*.bar", true},
		{"", false},
		{"foo.", false},
		{".foo", false},
		{"foo..bar", false},
		{"foo.>.bar", false},
		{"foo bar", false},
		{"foo\tbar", false},
	}
	for _, tt := range tests {
		if _, got := SplitFilter(tt.in); got != tt.want {
			t.Errorf("SplitFilter(%q) ok = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func toks(t *testing.T, s string) []string {
	t.Helper()
	tk, ok := SplitFilter(s)
	if !ok {
		t.Fatalf("bad pattern %q", s)
	}
	return tk
}

func TestMatchTokens(t *testing.T) {
	tests := []struct {
		subject, pattern string
		want             bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo.bar", "foo.*", true},
		{"foo.bar", "*.bar", true},
		{"foo.bar", "*", false},
		{"foo.bar.baz", "foo.>", true},
		{"foo.bar", "foo.>", true},
		{"foo", "foo.>", false},
		{"foo", ">", true},
		{"foo.bar", "*.bar.>", false},
		{"foo.bar", "foo.bar.baz", false},
		{"foo.bar.baz", "foo.bar", false},
		{"foo.*", "foo.bar", false},
		{"foo.*", "foo.*", true},
		{"foo.>", "foo.>", true},
		{"foo*.bar", "foo*.bar", true},
		{"fo.bar", "foo.bar", false},
		{"", ">", false},
	}
	for _, tt := range tests {
		pat := toks(t, tt.pattern)
		if got := MatchTokens([]byte(tt.subject), pat); got != tt.want {
			t.Errorf("MatchTokens(%q, %q) = %v; want %v", tt.subject, tt.pattern, got, tt.want)
		}
		if got := MatchTokens(tt.subject, pat); got != tt.want {
			t.Errorf("MatchTokens[string](%q, %q) = %v; want %v", tt.subject, tt.pattern, got, tt.want)
		}
	}
}

func TestSubsetOfTokens(t *testing.T) {
	tests := []struct {
		filter, pattern string
		want            bool
	}{
		{"foo.bar", "foo.bar", true},
		{"foo.bar", "foo.*", true},
		{"foo.*", "foo.>", true},
		{"foo.*.baz", "foo.>", true},
		{"foo.>", "foo.>", true},
		{"foo.bar.>", "foo.>", true},
		{"foo.>", ">", true},
		{"*", ">", true},
		{"foo.>", "foo.*", false},
		{"foo.*", "foo.bar", false},
		{"foo.>", "foo.bar", false},
		{"foo", "foo.>", false},
		{"foo.*", "*.*", true},
		{"*.*", "foo.*", false},
		{"foo.*.>", "foo.*.>", true},
		{"foo.*.>", "foo.>", true},
		{"foo.>", "foo.*.>", false},
		{">", "foo.>", false},
	}
	for _, tt := range tests {
		if got := SubsetOfTokens(toks(t, tt.filter), toks(t, tt.pattern)); got != tt.want {
			t.Errorf("SubsetOfTokens(%q, %q) = %v; want %v", tt.filter, tt.pattern, got, tt.want)
		}
	}
}

func TestOverlapTokens(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"foo.bar", "foo.bar", true},
		{"foo.bar", "foo.baz", false},
		{"foo.>", "foo.secret", true},
		{"foo.*", "foo.secret", true},
		{"foo.*", "foo.secret.x", false},
		{"*.secret", "foo.*", true},
		{">", "anything.at.all", true},
		{"foo", "foo.>", false},
		{"foo.>", "bar.>", false},
		{"foo.*.baz", "foo.bar.*", true},
		{"a.*.c", "*.b.d", false},
	}
	for _, tt := range tests {
		a, b := toks(t, tt.a), toks(t, tt.b)
		if got := OverlapTokens(a, b); got != tt.want {
			t.Errorf("OverlapTokens(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
		if got := OverlapTokens(b, a); got != tt.want {
			t.Errorf("OverlapTokens(%q, %q) = %v; want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestTokensOracle checks SubsetOfTokens and OverlapTokens against brute force
// over every literal subject of up to five tokens drawn from {a, b, c},
// where patterns use only a and b, so c stands for "any other token".
func TestTokensOracle(t *testing.T) {
	var literals []string
	var gen func(prefix []string)
	gen = func(prefix []string) {
		if len(prefix) > 0 {
			literals = append(literals, strings.Join(prefix, "."))
		}
		if len(prefix) == 5 {
			return
		}
		for _, tok := range []string{"a", "b", "c"} {
			gen(append(prefix, tok))
		}
	}
	gen(nil)

	var patterns []string
	var genPat func(prefix []string)
	genPat = func(prefix []string) {
		if len(prefix) > 0 {
			patterns = append(patterns, strings.Join(prefix, "."))
			if prefix[len(prefix)-1] == ">" {
				return
			}
		}
		if len(prefix) == 3 {
			return
		}
		for _, tok := range []string{"a", "b", "*", ">"} {
			genPat(append(prefix, tok))
		}
	}
	genPat(nil)

	matches := make(map[string][]bool, len(patterns))
	for _, p := range patterns {
		pt := toks(t, p)
		m := make([]bool, len(literals))
		for i, l := range literals {
			m[i] = MatchTokens(l, pt)
		}
		matches[p] = m
	}
	for _, f := range patterns {
		for _, p := range patterns {
			mf, mp := matches[f], matches[p]
			subset, overlap := true, false
			for i := range literals {
				if mf[i] && !mp[i] {
					subset = false
				}
				if mf[i] && mp[i] {
					overlap = true
				}
			}
			if got := SubsetOfTokens(toks(t, f), toks(t, p)); got != subset {
				t.Errorf("SubsetOfTokens(%q, %q) = %v; want %v", f, p, got, subset)
			}
			if got := OverlapTokens(toks(t, f), toks(t, p)); got != overlap {
				t.Errorf("OverlapTokens(%q, %q) = %v; want %v", f, p, got, overlap)
			}
		}
	}
}
