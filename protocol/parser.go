package protocol

import (
	"bytes"
	"errors"
)

// Errors the parser returns. Each error's text is what the server sends in
// its -ERR line before it closes the connection.
var (
	// ErrUnknownOp is returned for any malformed or unknown operation.
	ErrUnknownOp = errors.New("Unknown Protocol Operation")
	// ErrMaxControlLine is returned when a control line is longer than
	// Parser.MaxControlLine bytes.
	ErrMaxControlLine = errors.New("maximum control line exceeded")
	// ErrMaxPayload is returned when a PUB or HPUB announces more than
	// Parser.MaxPayload bytes.
	ErrMaxPayload = errors.New("Maximum Payload Violation")
)

// Defaults used when a Parser's limits are zero.
const (
	DefaultMaxControlLine = 4096
	DefaultMaxPayload     = 1 << 20
)

// Handler receives the operations a Parser reads. Byte slices passed to a
// Handler point into the caller's read buffer or the parser's scratch space:
// they are valid only during the call, and a Handler must copy anything it
// keeps. Their capacity ends at their length, so appending to one copies it
// rather than overwriting what follows. A non-nil error stops parsing and is
// returned by Parse.
type Handler interface {
	// Connect receives the JSON object of a CONNECT.
	Connect(opts []byte) error
	// Pub receives a PUB (header is nil) or an HPUB (header holds the
	// whole header block, including its closing blank line). reply is nil
	// when absent.
	Pub(subject, reply, header, payload []byte) error
	// Sub receives a SUB; queue is nil when absent.
	Sub(subject, queue, sid []byte) error
	// Unsub receives an UNSUB; max is 0 when absent.
	Unsub(sid []byte, max int64) error
	Ping() error
	Pong() error
}

const (
	stateLine = iota
	statePayload
)

// Parser is a streaming parser for client operations. Feed it whatever the
// socket returned, in order; frames may be split anywhere. A Parser is not
// safe for concurrent use. After Parse returns an error its state is
// undefined: the connection should be closed.
type Parser struct {
	// MaxControlLine bounds a control line, without its CRLF.
	MaxControlLine int
	// MaxPayload bounds the size a PUB or HPUB may announce.
	MaxPayload int

	state int
	line  []byte // a control line split across reads
	// A PUB whose payload is split across reads keeps its arguments in
	// args and its payload (with trailing CRLF) in msg until whole.
	args         []byte
	subj, reply  []byte
	hdrLen, need int
	msg          []byte
}

// Buffered reports how many bytes of an incomplete frame the parser holds.
func (p *Parser) Buffered() int { return len(p.line) + len(p.msg) }

// Reset drops any partial frame and releases scratch space.
func (p *Parser) Reset() {
	*p = Parser{MaxControlLine: p.MaxControlLine, MaxPayload: p.MaxPayload}
}

func (p *Parser) maxLine() int {
	if p.MaxControlLine > 0 {
		return p.MaxControlLine
	}
	return DefaultMaxControlLine
}

func (p *Parser) maxPayload() int {
	if p.MaxPayload > 0 {
		return p.MaxPayload
	}
	return DefaultMaxPayload
}

// Parse consumes buf, calling h for each complete operation.
func (p *Parser) Parse(buf []byte, h Handler) error {
	for len(buf) > 0 {
		if p.state == statePayload {
			n := p.need - len(p.msg)
			if n > len(buf) {
				n = len(buf)
			}
			p.msg = append(p.msg, buf[:n]...)
			buf = buf[n:]
			if len(p.msg) < p.need {
				return nil
			}
			err := p.deliverSplit(h)
			if err != nil {
				return err
			}
			continue
		}
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			if len(p.line)+len(buf) > p.maxLine()+1 {
				return ErrMaxControlLine
			}
			p.line = append(p.line, buf...)
			return nil
		}
		var line []byte
		if len(p.line) > 0 {
			if len(p.line)+i > p.maxLine()+1 {
				return ErrMaxControlLine // before copying a long tail
			}
			p.line = append(p.line, buf[:i]...)
			line = p.line
		} else {
			line = buf[:i]
		}
		buf = buf[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > p.maxLine() {
			return ErrMaxControlLine
		}
		rest, err := p.op(line, buf, h)
		p.line = p.line[:0]
		if err != nil {
			return err
		}
		buf = rest
	}
	return nil
}

// op handles one control line; for PUB and HPUB it also consumes the payload
// from buf when it is all there, and returns what is left of buf.
func (p *Parser) op(line, buf []byte, h Handler) ([]byte, error) {
	if len(line) > 4 && line[0] == 'P' && line[1] == 'U' && line[2] == 'B' && line[3] == ' ' {
		if subj, reply, size, ok := pubArgs(line[4:]); ok {
			return p.payload(subj, reply, -1, size, buf, h)
		}
	}
	var argv [6][]byte
	verb, rest := nextField(line)
	switch {
	case len(verb) == 0:
		return buf, nil // blank line
	case equalFold(verb, "PUB"):
		args, ok := splitArgs(rest, &argv)
		if !ok || (len(args) != 2 && len(args) != 3) {
			return buf, ErrUnknownOp
		}
		size := parseSize(args[len(args)-1])
		if size < 0 {
			return buf, ErrUnknownOp
		}
		var reply []byte
		if len(args) == 3 {
			reply = args[1]
		}
		return p.payload(args[0], reply, -1, size, buf, h)
	case equalFold(verb, "HPUB"):
		args, ok := splitArgs(rest, &argv)
		if !ok || (len(args) != 3 && len(args) != 4) {
			return buf, ErrUnknownOp
		}
		hdr := parseSize(args[len(args)-2])
		size := parseSize(args[len(args)-1])
		if hdr < 0 || size < 0 || hdr > size {
			return buf, ErrUnknownOp
		}
		var reply []byte
		if len(args) == 4 {
			reply = args[1]
		}
		return p.payload(args[0], reply, hdr, size, buf, h)
	case equalFold(verb, "SUB"):
		args, ok := splitArgs(rest, &argv)
		if !ok {
			return buf, ErrUnknownOp
		}
		switch len(args) {
		case 2:
			return buf, h.Sub(args[0], nil, args[1])
		case 3:
			return buf, h.Sub(args[0], args[1], args[2])
		}
		return buf, ErrUnknownOp
	case equalFold(verb, "UNSUB"):
		args, ok := splitArgs(rest, &argv)
		if !ok {
			return buf, ErrUnknownOp
		}
		switch len(args) {
		case 1:
			return buf, h.Unsub(args[0], 0)
		case 2:
			max := parseSize(args[1])
			if max < 0 {
				return buf, ErrUnknownOp
			}
			return buf, h.Unsub(args[0], int64(max))
		}
		return buf, ErrUnknownOp
	case equalFold(verb, "PING"):
		if len(trimSpace(rest)) != 0 {
			return buf, ErrUnknownOp
		}
		return buf, h.Ping()
	case equalFold(verb, "PONG"):
		if len(trimSpace(rest)) != 0 {
			return buf, ErrUnknownOp
		}
		return buf, h.Pong()
	case equalFold(verb, "CONNECT"):
		opts := trimSpace(rest)
		return buf, h.Connect(opts[:len(opts):len(opts)])
	case equalFold(verb, "INFO"):
		return buf, nil // clients may echo INFO; nothing in it concerns us
	}
	return buf, ErrUnknownOp
}

// payload delivers a PUB/HPUB whose control line has been read. hdr is -1
// for PUB.
func (p *Parser) payload(subj, reply []byte, hdr, size int, buf []byte, h Handler) ([]byte, error) {
	if size > p.maxPayload() {
		return buf, ErrMaxPayload
	}
	need := size + 2
	if len(buf) >= need {
		if buf[size] != '\r' || buf[size+1] != '\n' {
			return buf, ErrUnknownOp
		}
		var header []byte
		data := buf[:size:size]
		if hdr >= 0 {
			header, data = data[:hdr:hdr], data[hdr:]
		}
		return buf[need:], h.Pub(subj, reply, header, data)
	}
	// The payload is split: keep the arguments and start collecting.
	p.args = append(p.args[:0], subj...)
	p.args = append(p.args, reply...)
	p.subj = p.args[:len(subj):len(subj)]
	p.reply = nil
	if reply != nil {
		p.reply = p.args[len(subj):len(p.args):len(p.args)]
	}
	p.hdrLen = hdr
	p.need = need
	if cap(p.msg) < need && need <= 64<<10 {
		p.msg = make([]byte, 0, need)
	}
	p.msg = append(p.msg[:0], buf...)
	p.state = statePayload
	return nil, nil
}

// deliverSplit hands over a PUB whose payload arrived across reads.
func (p *Parser) deliverSplit(h Handler) error {
	size := p.need - 2
	m := p.msg
	p.state = stateLine
	if m[size] != '\r' || m[size+1] != '\n' {
		return ErrUnknownOp
	}
	var header []byte
	data := m[:size:size]
	if p.hdrLen >= 0 {
		header, data = data[:p.hdrLen:p.hdrLen], data[p.hdrLen:]
	}
	err := h.Pub(p.subj, p.reply, header, data)
	p.msg = p.msg[:0]
	if cap(p.msg) > 64<<10 {
		p.msg = nil // do not pin a large message's buffer on an idle connection
	}
	return err
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextField returns the first field of b and what follows it, with the
// separating spaces removed.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	k := j
	for k < len(b) && isSpace(b[k]) {
		k++
	}
	return b[i:j:j], b[k:]
}

// pubArgs reads the arguments of a PUB as nearly every client writes
// them, "subject [reply] size" with single spaces, in one pass. Anything
// else (tabs, runs of spaces, a bad size) reports false, and the general
// path then parses the line, or refuses it with its error.
func pubArgs(b []byte) (subj, reply []byte, size int, ok bool) {
	s1, s2 := -1, -1
	for i, c := range b {
		switch c {
		case ' ':
			switch {
			case s1 < 0:
				s1 = i
			case s2 < 0:
				s2 = i
			default:
				return nil, nil, 0, false
			}
		case '\t':
			return nil, nil, 0, false
		}
	}
	if s1 <= 0 {
		return nil, nil, 0, false
	}
	last := s1
	if s2 >= 0 {
		if s2 == s1+1 {
			return nil, nil, 0, false
		}
		reply, last = b[s1+1:s2:s2], s2
	}
	size = parseSize(b[last+1:])
	if size < 0 {
		return nil, nil, 0, false
	}
	return b[:s1:s1], reply, size, true
}

// splitArgs splits b on runs of spaces and tabs into argv, without
// allocating. It reports false when there are more fields than argv holds.
func splitArgs(b []byte, argv *[6][]byte) ([][]byte, bool) {
	n := 0
	for {
		var f []byte
		f, b = nextField(b)
		if len(f) == 0 {
			return argv[:n], true
		}
		if n == len(argv) {
			return nil, false
		}
		argv[n] = f
		n++
	}
}

// parseSize parses a non-negative decimal, or returns -1.
func parseSize(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
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

// equalFold compares an ASCII verb case-insensitively with an upper-case
// constant.
func equalFold(b []byte, upper string) bool {
	if len(b) != len(upper) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}
