package protocol

// Filters that are matched many times (permissions, stream and consumer
// filters) can be split into tokens once; subjects from the wire are then
// walked in place, so matching a publish subject never allocates. These
// functions follow the grammar of subject.go exactly: SplitFilter accepts
// what ValidFilter accepts, and MatchTokens, SubsetOfTokens and
// OverlapTokens answer as MatchLiteral, SubsetOf and Overlap do on the
// unsplit filters.

// SplitFilter splits a subscription subject into its tokens. It reports
// false when s is not a valid filter (see ValidFilter).
func SplitFilter(s string) ([]string, bool) {
	if !ValidFilter(s) {
		return nil, false
	}
	toks := make([]string, 0, NumTokens(s))
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == tsep {
			toks = append(toks, s[start:i])
			start = i + 1
		}
	}
	return append(toks, s[start:]), true
}

// MatchTokens reports whether subject, taken literally (a '*' or '>' token
// in it is just a token), is matched by the filter tokens from
// SplitFilter. A subject with an empty token matches nothing. It does not
// allocate.
func MatchTokens[T string | []byte](subject T, filter []string) bool {
	if len(subject) == 0 {
		return false
	}
	fi := 0
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i < len(subject) && subject[i] != tsep {
			continue
		}
		if fi >= len(filter) {
			return false
		}
		tok := subject[start:i]
		start = i + 1
		switch f := filter[fi]; f {
		case ">":
			return len(tok) > 0
		case "*":
			if len(tok) == 0 {
				return false
			}
		default:
			if string(tok) != f {
				return false
			}
		}
		fi++
	}
	return fi == len(filter)
}

// SubsetOfTokens reports whether every literal subject matched by filter
// is also matched by super, both split by SplitFilter (SubsetOf on split
// filters).
func SubsetOfTokens(filter, super []string) bool {
	for i, p := range super {
		if p == ">" {
			// '>' covers one or more tokens, whatever they are.
			return i < len(filter)
		}
		if i >= len(filter) {
			return false
		}
		f := filter[i]
		if f == ">" {
			// The filter reaches subjects of every length from here on;
			// only a '>' in super covers that.
			return false
		}
		if p == "*" {
			continue
		}
		if f != p {
			// A '*' in the filter is wider than any literal token.
			return false
		}
	}
	return len(filter) == len(super)
}

// OverlapTokens reports whether some literal subject is matched by both a
// and b, split by SplitFilter (Overlap on split filters).
func OverlapTokens(a, b []string) bool {
	n := min(len(a), len(b))
	for i := range n {
		x, y := a[i], b[i]
		if x == ">" || y == ">" {
			return true
		}
		if x == "*" || y == "*" {
			continue
		}
		if x != y {
			return false
		}
	}
	return len(a) == len(b)
}
