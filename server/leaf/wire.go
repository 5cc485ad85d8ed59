package leaf

import (
	"errors"
	"strings"
)

// hubMsg is a parsed LMSG/HMSG control line.
type hubMsg struct {
	subject, reply []byte
	queues         [][]byte
	hdr, size      int // hdr is -1 without a header
}

// parseMsgArgs parses what follows LMSG or HMSG:
//
//	subject [reply] [hdr] size
//	subject + reply queue… [hdr] size
//	subject | queue… [hdr] size
func parseMsgArgs(line []byte, header bool, qa [][]byte) (hubMsg, error) {
	var m hubMsg
	m.hdr = -1
	f := fields(line, qa)
	nsize := 1
	if header {
		nsize = 2
	}
	if len(f) < 1+nsize {
		return m, errors.New("bad message line from hub")
	}
	m.subject = f[0]
	counts := f[len(f)-nsize:]
	mid := f[1 : len(f)-nsize]
	switch {
	case len(mid) == 0:
	case len(mid) == 1:
		m.reply = mid[0]
	default:
		switch string(mid[0]) {
		case "+":
			m.reply = mid[1]
			m.queues = mid[2:]
		case "|":
			m.queues = mid[1:]
		default:
			return m, errors.New("bad reply indicator in message from hub")
		}
	}
	m.size = atoi(counts[len(counts)-1])
	if header {
		m.hdr = atoi(counts[0])
		if m.hdr < 0 || m.hdr > m.size {
			return m, errors.New("bad header size in message from hub")
		}
	}
	if m.size < 0 {
		return m, errors.New("bad size in message from hub")
	}
	if m.hdr < 0 {
		m.hdr = 0
		if !header {
			return m, nil
		}
	}
	return m, nil
}

// fields splits b on spaces and tabs, appending to dst.
func fields(b []byte, dst [][]byte) [][]byte {
	start := -1
	for i, c := range b {
		if c == ' ' || c == '\t' {
			if start >= 0 {
				dst = append(dst, b[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, b[start:])
	}
	return dst
}

// atoi parses a decimal count; -1 if it is not one.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 10 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// trimLine drops surrounding spaces and the line end.
func trimLine(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// hasVerb reports whether line starts with verb (any case) followed by
// the end of the line or a space.
func hasVerb(line []byte, verb string) bool {
	if len(line) < len(verb) {
		return false
	}
	for i := 0; i < len(verb); i++ {
		c := line[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != verb[i] {
			return false
		}
	}
	return len(line) == len(verb) || line[len(verb)] == ' ' || line[len(verb)] == '\t' || line[len(verb)] == '\r' || line[len(verb)] == '\n'
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// unquote drops the quotes around an -ERR text.
func unquote(s string) string {
	return strings.Trim(s, "'")
}
