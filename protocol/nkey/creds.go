package nkey

import "bytes"

// A decorated credentials file holds tokens each on a line of its own
// between two fence lines that begin and end with at least three dashes:
//
//	-----BEGIN NATS USER JWT-----
//	eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...
//	------END NATS USER JWT------
//
// The JWT comes first, the seed second.

// fence reports whether line is a BEGIN or END line.
func fence(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) >= 6 && bytes.HasPrefix(line, []byte("---")) && bytes.HasSuffix(line, []byte("---"))
}

// tokenByte reports whether c may appear in a fenced token (letters,
// digits, '_', '-', '.', '=').
func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '='
}

// fenced returns the tokens of contents that stand between two fence
// lines, in order.
func fenced(contents []byte) [][]byte {
	lines := bytes.Split(contents, []byte("\n"))
	var out [][]byte
	for i := 0; i+2 < len(lines); i++ {
		if !fence(lines[i]) || !fence(lines[i+2]) {
			continue
		}
		tok := bytes.TrimSpace(lines[i+1])
		if len(tok) == 0 || bytes.IndexFunc(tok, func(r rune) bool { return r > 0x7f || !tokenByte(byte(r)) }) >= 0 {
			continue
		}
		out = append(out, tok)
		i += 2
	}
	return out
}

// ParseDecoratedJWT returns the JWT in a credentials file: the first
// fenced token, or the whole file trimmed when nothing is fenced (a bare
// JWT).
func ParseDecoratedJWT(contents []byte) string {
	if toks := fenced(contents); len(toks) > 0 {
		return string(toks[0])
	}
	return string(bytes.TrimSpace(contents))
}

// ParseDecoratedSeed returns the key pair of the seed in a credentials
// file (the second fenced token) or in a seed file (the first line that
// starts with SO, SA or SU).
func ParseDecoratedSeed(contents []byte) (*KeyPair, error) {
	var seed []byte
	if toks := fenced(contents); len(toks) > 1 {
		seed = toks[1]
	} else {
		for _, line := range bytes.Split(contents, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if seedText(line) {
				seed = line
				break
			}
		}
	}
	if seed == nil {
		return nil, ErrNoSeed
	}
	if !seedText(seed) {
		return nil, ErrInvalidSeed
	}
	return FromSeed(seed)
}

// seedText reports whether b starts like an operator, account or user
// seed.
func seedText(b []byte) bool {
	return bytes.HasPrefix(b, []byte("SO")) || bytes.HasPrefix(b, []byte("SA")) || bytes.HasPrefix(b, []byte("SU"))
}
