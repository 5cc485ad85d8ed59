package jetstore

import (
	"encoding/json"
	"time"
)

// Pull requests come as small flat JSON objects ({"batch":100,
// "expires":5000000000}, a few fields more or fewer), one per Fetch.
// parsePullJSON reads the common ones by hand: keys as they are spelt,
// whole numbers and booleans, no escapes. Anything else (another key, a
// key in other case, a string, null, a fraction, a number past the
// field's range, a syntax error) goes to encoding/json, so what is
// accepted and how it is refused stay encoding/json's.
func parsePullJSON(data []byte, j *pullRequestJSON) error {
	if fastPullJSON(data, j) {
		return nil
	}
	*j = pullRequestJSON{}
	return json.Unmarshal(data, j)
}

// fastPullJSON reads data into j as encoding/json would, or reports false
// when it cannot tell; j may then hold part of it.
func fastPullJSON(data []byte, j *pullRequestJSON) bool {
	p := pullScan{b: data}
	p.space()
	if !p.byte('{') {
		return false
	}
	p.space()
	if p.byte('}') {
		return p.end()
	}
	for {
		key, ok := p.key()
		if !ok {
			return false
		}
		p.space()
		if !p.byte(':') {
			return false
		}
		p.space()
		switch string(key) {
		case "batch", "max_bytes":
			n, ok := p.int()
			if !ok || int64(int(n)) != n {
				return false
			}
			if string(key) == "batch" {
				j.Batch = int(n)
			} else {
				j.MaxBytes = int(n)
			}
		case "expires", "idle_heartbeat":
			n, ok := p.int()
			if !ok {
				return false
			}
			if string(key) == "expires" {
				j.Expires = time.Duration(n)
			} else {
				j.Heartbeat = time.Duration(n)
			}
		case "no_wait":
			v, ok := p.bool()
			if !ok {
				return false
			}
			j.NoWait = v
		default:
			return false
		}
		p.space()
		if p.byte('}') {
			return p.end()
		}
		if !p.byte(',') {
			return false
		}
		p.space()
	}
}

// pullScan walks a pull request's JSON.
type pullScan struct {
	b []byte
	i int
}

func (p *pullScan) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *pullScan) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *pullScan) end() bool {
	p.space()
	return p.i == len(p.b)
}

// key reads a quoted key of lower-case letters and underscores.
func (p *pullScan) key() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			k := p.b[start:p.i]
			p.i++
			return k, true
		case c >= 'a' && c <= 'z' || c == '_':
			p.i++
		default:
			return nil, false
		}
	}
	return nil, false
}

// int reads a whole number of at most 18 digits, as JSON spells it: no
// leading zeros, no plus sign, no fraction or exponent.
func (p *pullScan) int() (int64, bool) {
	neg := p.byte('-')
	start := p.i
	var n int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	switch {
	case digits == 0 || digits > 18:
		return 0, false
	case digits > 1 && p.b[start] == '0':
		return 0, false
	case p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E'):
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func (p *pullScan) bool() (bool, bool) {
	rest := p.b[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, true
	}
	return false, false
}
