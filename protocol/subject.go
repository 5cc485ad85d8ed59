package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Subjects are tokens joined by '.'. A token is a non-empty run of bytes
// other than space, tab, CR, LF and FF; subjects are case-sensitive UTF-8.
// In a filter, '*' as a whole token matches exactly one token and '>' as the
// last whole token matches one or more. Anywhere else the two characters are
// literal bytes ("foo*.bar" is a literal subject). Other control bytes
// (NUL, vertical tab, DEL, ...) are literal bytes too, as on the wire of
// nats-server. This is the one grammar: the broker, permissions, the
// config file and the stream layer all check subjects with it.

const (
	tsep = '.'
	pwc  = '*'
	fwc  = '>'
)

// badSubjectByte reports whether c is one of the five bytes no subject holds:
// space, tab, CR, LF and FF.
func badSubjectByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
}

// ValidFilter reports whether s is a valid subscription subject: a literal
// subject or one with '*' and '>' wildcard tokens, '>' only last.
func ValidFilter(s string) bool {
	return validSubject(s, true)
}

// ValidLiteral reports whether s is a valid publish subject: valid and
// without wildcard tokens.
func ValidLiteral(s string) bool {
	return validSubject(s, false)
}

// ValidFilterBytes is ValidFilter for a byte slice, without allocating.
func ValidFilterBytes(b []byte) bool {
	return validSubject(b, true)
}

// ValidLiteralBytes is ValidLiteral for a byte slice, without allocating.
func ValidLiteralBytes(b []byte) bool {
	return validSubject(b, false)
}

func validSubject[T string | []byte](s T, wildcards bool) bool {
	if len(s) == 0 {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != tsep {
			if badSubjectByte(s[i]) {
				return false
			}
			continue
		}
		n := i - start
		if n == 0 {
			return false
		}
		if n == 1 && (s[start] == pwc || s[start] == fwc) {
			if !wildcards {
				return false
			}
			if s[start] == fwc && i != len(s) {
				return false
			}
		}
		start = i + 1
	}
	return true
}

// CheckFilter returns nil when s is a valid subscription subject (exactly
// when ValidFilter(s) holds), or an error saying what is wrong with it, in
// words for a config file or an API answer.
func CheckFilter(s string) error {
	if s == "" {
		return errors.New("subject is empty")
	}
	for i := 0; i < len(s); i++ {
		if badSubjectByte(s[i]) {
			return fmt.Errorf("subject %q contains whitespace", s)
		}
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != tsep {
			continue
		}
		switch tok := s[start:i]; {
		case tok == "":
			return fmt.Errorf("subject %q has an empty token", s)
		case tok == ">" && i != len(s):
			return fmt.Errorf("subject %q has '>' before its last token", s)
		}
		start = i + 1
	}
	return nil
}

// CutQueue splits a subscribe permission entry at its first run of spaces
// and tabs into the subject and the queue group pattern after it, as in
// "jobs.> workers" (nats-server's queue permissions). Anything else is the
// subject's to accept or refuse, so an entry with white space before its
// subject or after its queue group is invalid.
func CutQueue(s string) (subject, queue string, hasQueue bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimLeft(s[i:], " \t"), true
}

// IsFilter reports whether a valid subject contains a wildcard token.
func IsFilter(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != pwc && s[i] != fwc {
			continue
		}
		if (i == 0 || s[i-1] == tsep) && (i+1 == len(s) || s[i+1] == tsep) {
			return true
		}
	}
	return false
}

// MatchLiteral reports whether the literal subject matches filter. Both are
// assumed valid; wildcard tokens in subject are compared as literal tokens.
func MatchLiteral[T string | []byte](subject T, filter string) bool {
	si, fi := 0, 0
	for {
		if fi >= len(filter) {
			return si >= len(subject)
		}
		if si >= len(subject) {
			return false
		}
		fe := fi
		for fe < len(filter) && filter[fe] != tsep {
			fe++
		}
		se := si
		for se < len(subject) && subject[se] != tsep {
			se++
		}
		ftok := filter[fi:fe]
		switch {
		case ftok == ">":
			return true
		case ftok == "*":
		default:
			if string(subject[si:se]) != ftok {
				return false
			}
		}
		fi, si = fe+1, se+1
		if fe == len(filter) || se == len(subject) {
			return fe == len(filter) && se == len(subject)
		}
	}
}

// SubsetOf reports whether every subject matched by filter is also matched by
// super. Both are assumed valid filters.
func SubsetOf(filter, super string) bool {
	fi, si := 0, 0
	for {
		if si >= len(super) {
			return fi >= len(filter)
		}
		if fi >= len(filter) {
			return false
		}
		fe := fi
		for fe < len(filter) && filter[fe] != tsep {
			fe++
		}
		se := si
		for se < len(super) && super[se] != tsep {
			se++
		}
		ft, st := filter[fi:fe], super[si:se]
		switch {
		case st == ">":
			return true
		case ft == ">":
			return false
		case st == "*":
		case ft == "*":
			return false
		case ft != st:
			return false
		}
		fi, si = fe+1, se+1
		if fe == len(filter) || se == len(super) {
			return fe == len(filter) && se == len(super)
		}
	}
}

// Overlap reports whether some literal subject is matched by both filters.
func Overlap(a, b string) bool {
	ai, bi := 0, 0
	for {
		if ai >= len(a) || bi >= len(b) {
			return ai >= len(a) && bi >= len(b)
		}
		ae := ai
		for ae < len(a) && a[ae] != tsep {
			ae++
		}
		be := bi
		for be < len(b) && b[be] != tsep {
			be++
		}
		at, bt := a[ai:ae], b[bi:be]
		if at == ">" || bt == ">" {
			return true
		}
		if at != "*" && bt != "*" && at != bt {
			return false
		}
		ai, bi = ae+1, be+1
		if ae == len(a) || be == len(b) {
			return ae == len(a) && be == len(b)
		}
	}
}

// NumTokens returns how many tokens s has.
func NumTokens(s string) int {
	if s == "" {
		return 0
	}
	n := 1
	for i := 0; i < len(s); i++ {
		if s[i] == tsep {
			n++
		}
	}
	return n
}
