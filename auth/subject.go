package auth

import "strings"

// Subject helpers for permission entries. Permission patterns are split into
// tokens once, when the Authenticator is built; subjects from the wire are
// walked in place so that matching a publish subject never allocates.
//
// A '*' token matches exactly one token and a '>' token, which must be last,
// matches one or more. A '*' or '>' that is part of a longer token is a
// literal byte.

const (
	tokSep = '.'
	tokPWC = "*"
	tokFWC = ">"
)

func badSubjectByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
}

// splitPattern splits a permission pattern into its tokens. It reports false
// if s is not a valid subject filter (empty tokens, forbidden bytes, or a '>'
// that is not the last token).
func splitPattern(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		if t == "" {
			return nil, false
		}
		for j := 0; j < len(t); j++ {
			if badSubjectByte(t[j]) {
				return nil, false
			}
		}
		if t == tokFWC && i != len(toks)-1 {
			return nil, false
		}
	}
	return toks, true
}

// splitFilter is splitPattern for a subject received from a client.
func splitFilter(b []byte) ([]string, bool) {
	return splitPattern(string(b))
}

// matchLiteral reports whether the subject, taken literally (a '*' or '>'
// token in it is just a token), is matched by the pattern tokens. It does
// not allocate.
func matchLiteral[T string | []byte](subject T, pattern []string) bool {
	if len(subject) == 0 {
		return false
	}
	pi := 0
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i < len(subject) && subject[i] != tokSep {
			continue
		}
		if pi >= len(pattern) {
			return false
		}
		tok := subject[start:i]
		start = i + 1
		switch p := pattern[pi]; p {
		case tokFWC:
			return len(tok) > 0
		case tokPWC:
			if len(tok) == 0 {
				return false
			}
		default:
			if string(tok) != p {
				return false
			}
		}
		pi++
	}
	return pi == len(pattern)
}

// isSubset reports whether every literal subject matched by filter is also
// matched by pattern. Both are token lists from splitPattern.
func isSubset(filter, pattern []string) bool {
	for i, p := range pattern {
		if p == tokFWC {
			// '>' covers one or more tokens, whatever they are.
			return i < len(filter)
		}
		if i >= len(filter) {
			return false
		}
		f := filter[i]
		if f == tokFWC {
			// The filter reaches subjects of every length from here on;
			// only a '>' in the pattern covers that.
			return false
		}
		if p == tokPWC {
			continue
		}
		if f != p {
			// A '*' in the filter is wider than any literal token.
			return false
		}
	}
	return len(filter) == len(pattern)
}

// overlaps reports whether some literal subject is matched by both a and b.
func overlaps(a, b []string) bool {
	n := min(len(a), len(b))
	for i := range n {
		x, y := a[i], b[i]
		if x == tokFWC || y == tokFWC {
			return true
		}
		if x == tokPWC || y == tokPWC {
			continue
		}
		if x != y {
			return false
		}
	}
	return len(a) == len(b)
}
