package protocol

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// call is one recorded Handler call. Op is PUB for a Pub without a header
// block and HPUB for one with; CONNECT keeps its JSON in Payload.
type call struct {
	Op                              string
	Subject, Reply, Header, Payload string
	Queue, Sid                      string
	Max                             int64
}

func (c call) String() string {
	switch c.Op {
	case "PUB", "HPUB":
		return fmt.Sprintf("%s(%q, %q, %q, %q)", c.Op, c.Subject, c.Reply, c.Header, c.Payload)
	case "SUB":
		return fmt.Sprintf("SUB(%q, %q, %q)", c.Subject, c.Queue, c.Sid)
	case "UNSUB":
		return fmt.Sprintf("UNSUB(%q, %d)", c.Sid, c.Max)
	case "CONNECT":
		return fmt.Sprintf("CONNECT(%q)", c.Payload)
	}
	return c.Op
}

func pub(subject, reply, payload string) call {
	return call{Op: "PUB", Subject: subject, Reply: reply, Payload: payload}
}

func hpub(subject, reply, header, payload string) call {
	return call{Op: "HPUB", Subject: subject, Reply: reply, Header: header, Payload: payload}
}

func sub(subject, queue, sid string) call {
	return call{Op: "SUB", Subject: subject, Queue: queue, Sid: sid}
}

func unsub(sid string, max int64) call { return call{Op: "UNSUB", Sid: sid, Max: max} }
func connect(opts string) call         { return call{Op: "CONNECT", Payload: opts} }

var (
	ping = call{Op: "PING"}
	pong = call{Op: "PONG"}
)

// recorder is a Handler that copies everything it is given, since the
// slices are only valid during the call. It returns failOn's error from
// the call with that index (counting from 1), if set.
type recorder struct {
	calls   []call
	failOn  int
	failErr error
}

func (r *recorder) add(c call) error {
	r.calls = append(r.calls, c)
	if len(r.calls) == r.failOn {
		return r.failErr
	}
	return nil
}

func (r *recorder) Connect(opts []byte) error { return r.add(connect(string(opts))) }

func (r *recorder) Pub(subject, reply, header, payload []byte) error {
	if header == nil {
		return r.add(pub(string(subject), string(reply), string(payload)))
	}
	return r.add(hpub(string(subject), string(reply), string(header), string(payload)))
}

func (r *recorder) Sub(subject, queue, sid []byte) error {
	return r.add(sub(string(subject), string(queue), string(sid)))
}

func (r *recorder) Unsub(sid []byte, max int64) error { return r.add(unsub(string(sid), max)) }
func (r *recorder) Ping() error                       { return r.add(ping) }
func (r *recorder) Pong() error                       { return r.add(pong) }

// parseCase is one row of the golden table. maxLine and maxPayload set the
// Parser's limits (0 keeps the defaults). want lists the calls made before
// werr stopped parsing, or all of them when werr is nil.
type parseCase struct {
	name                string
	in                  string
	maxLine, maxPayload int
	want                []call
	werr                error
}

func (tc parseCase) parser() *Parser {
	return &Parser{MaxControlLine: tc.maxLine, MaxPayload: tc.maxPayload}
}

const docHPUB = "HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n"

var parseCases = []parseCase{
	// Every operation.
	{name: "connect", in: "CONNECT {\"verbose\":false,\"headers\":true}\r\n",
		want: []call{connect(`{"verbose":false,"headers":true}`)}},
	{name: "connect json with spaces", in: "CONNECT {\"name\": \"a\tb c\"} \r\n",
		want: []call{connect("{\"name\": \"a\tb c\"}")}},
	{name: "pub", in: "PUB foo.bar 5\r\nhello\r\n", want: []call{pub("foo.bar", "", "hello")}},
	{name: "pub reply", in: "PUB foo.bar _INBOX.abc 5\r\nhello\r\n",
		want: []call{pub("foo.bar", "_INBOX.abc", "hello")}},
	{name: "hpub doc example", in: docHPUB,
		want: []call{hpub("FOO", "", "NATS/1.0\r\nBar: Baz\r\n\r\n", "Hello NATS!")}},
	{name: "hpub reply", in: "HPUB foo r.1 12 17\r\nNATS/1.0\r\n\r\nhello\r\n",
		want: []call{hpub("foo", "r.1", "NATS/1.0\r\n\r\n", "hello")}},
	{name: "hpub header only", in: "HPUB foo 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
		want: []call{hpub("foo", "", "NATS/1.0 503\r\n\r\n", "")}},
	{name: "hpub empty header", in: "HPUB foo 0 2\r\nhi\r\n", want: []call{hpub("foo", "", "", "hi")}},
	{name: "sub", in: "SUB foo.* 1\r\n", want: []call{sub("foo.*", "", "1")}},
	{name: "sub queue", in: "SUB foo.> workers 22\r\n", want: []call{sub("foo.>", "workers", "22")}},
	{name: "unsub", in: "UNSUB 1\r\n", want: []call{unsub("1", 0)}},
	{name: "unsub max", in: "UNSUB 1 10\r\n", want: []call{unsub("1", 10)}},
	{name: "unsub max 9 digits", in: "UNSUB 7 999999999\r\n", want: []call{unsub("7", 999999999)}},
	{name: "ping", in: "PING\r\n", want: []call{ping}},
	{name: "pong", in: "PONG\r\n", want: []call{pong}},
	{name: "info ignored", in: "INFO {\"server_id\":\"x\",\"headers\":true}\r\nPING\r\n", want: []call{ping}},

	// Verbs are case-insensitive.
	{name: "lower pub", in: "pub foo 2\r\nhi\r\n", want: []call{pub("foo", "", "hi")}},
	{name: "mixed ping", in: "PiNg\r\npOnG\r\n", want: []call{ping, pong}},
	{name: "lower others", in: "connect {}\r\nsub a 1\r\nunsub 1\r\nhpub a 0 0\r\n\r\n",
		want: []call{connect("{}"), sub("a", "", "1"), unsub("1", 0), hpub("a", "", "", "")}},

	// Separators: runs of spaces and tabs, trailing blanks.
	{name: "pub spaces tabs", in: "PUB \t foo\t\tbar  \t 5\r\nhello\r\n", want: []call{pub("foo", "bar", "hello")}},
	{name: "hpub tabs", in: "HPUB\tfoo\t12\t12 \r\nNATS/1.0\r\n\r\n\r\n", want: []call{hpub("foo", "", "NATS/1.0\r\n\r\n", "")}},
	{name: "sub spaces", in: "SUB  foo \t q\t 1 \t\r\n", want: []call{sub("foo", "q", "1")}},
	{name: "unsub tabs", in: "UNSUB\t1\t\t5\r\n", want: []call{unsub("1", 5)}},
	{name: "ping trailing space", in: "PING \t\r\n", want: []call{ping}},

	// Bare LF ends a control line; the payload still ends in CRLF.
	{name: "bare lf", in: "PING\nPONG\nSUB foo 1\n", want: []call{ping, pong, sub("foo", "", "1")}},
	{name: "bare lf pub", in: "PUB foo 5\nhello\r\nPING\n", want: []call{pub("foo", "", "hello"), ping}},

	// Payloads.
	{name: "zero payload", in: "PUB foo 0\r\n\r\n", want: []call{pub("foo", "", "")}},
	{name: "payload with crlf", in: "PUB foo 9\r\na\r\nb\r\nc\r\n\r\n", want: []call{pub("foo", "", "a\r\nb\r\nc\r\n")}},
	{name: "payload looks like ops", in: "PUB foo 12\r\nPING\r\nPONG\r\n\r\nPING\r\n",
		want: []call{pub("foo", "", "PING\r\nPONG\r\n"), ping}},
	{name: "payload at max", in: "PUB foo 8\r\n12345678\r\n", maxPayload: 8, want: []call{pub("foo", "", "12345678")}},
	{name: "binary payload", in: "PUB foo 4\r\n\x00\xff\n\r\r\n", want: []call{pub("foo", "", "\x00\xff\n\r")}},

	// Several operations in one buffer.
	{name: "pipelined",
		in: "CONNECT {}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nPUB foo r 0\r\n\r\n" + docHPUB + "UNSUB 1 2\r\nPING\r\nPONG\r\n",
		want: []call{connect("{}"), sub("foo", "", "1"), pub("foo", "", "hello"), pub("foo", "r", ""),
			hpub("FOO", "", "NATS/1.0\r\nBar: Baz\r\n\r\n", "Hello NATS!"), unsub("1", 2), ping, pong}},
	{name: "incomplete tail", in: "PING\r\nPUB foo 5\r\nhel", want: []call{ping}},
	{name: "incomplete line", in: "PING\r\nSUB foo", want: []call{ping}},

	// Unknown operations.
	{name: "unknown verb", in: "FOO bar\r\n", werr: ErrUnknownOp},
	{name: "verb prefix", in: "PU foo 1\r\n", werr: ErrUnknownOp},
	{name: "verb suffix", in: "PUBX foo 1\r\nx\r\n", werr: ErrUnknownOp},
	{name: "server verb msg", in: "MSG foo 1 2\r\nhi\r\n", werr: ErrUnknownOp},
	{name: "server verb ok", in: "+OK\r\n", werr: ErrUnknownOp},
	{name: "error after ops", in: "PING\r\nSUB foo 1\r\nBAD\r\nPONG\r\n", want: []call{ping, sub("foo", "", "1")}, werr: ErrUnknownOp},

	// Wrong argument counts.
	{name: "pub no size", in: "PUB foo\r\n", werr: ErrUnknownOp},
	{name: "pub no args", in: "PUB\r\n", werr: ErrUnknownOp},
	{name: "pub too many", in: "PUB a b c 5\r\nhello\r\n", werr: ErrUnknownOp},
	{name: "pub far too many", in: "PUB a b c d e f g h 1\r\nx\r\n", werr: ErrUnknownOp},
	{name: "hpub one size", in: "HPUB foo 5\r\nhello\r\n", werr: ErrUnknownOp},
	{name: "hpub too many", in: "HPUB a b c 0 1\r\nx\r\n", werr: ErrUnknownOp},
	{name: "sub one arg", in: "SUB foo\r\n", werr: ErrUnknownOp},
	{name: "sub no args", in: "SUB\r\n", werr: ErrUnknownOp},
	{name: "sub too many", in: "SUB a b c d\r\n", werr: ErrUnknownOp},
	{name: "unsub no args", in: "UNSUB\r\n", werr: ErrUnknownOp},
	{name: "unsub too many", in: "UNSUB 1 2 3\r\n", werr: ErrUnknownOp},
	{name: "ping arg", in: "PING x\r\n", werr: ErrUnknownOp},
	{name: "pong arg", in: "PONG x\r\n", werr: ErrUnknownOp},

	// Bad sizes.
	{name: "pub negative", in: "PUB foo -1\r\n", werr: ErrUnknownOp},
	{name: "pub letters", in: "PUB foo abc\r\n", werr: ErrUnknownOp},
	{name: "pub trailing junk", in: "PUB foo 5x\r\nhello\r\n", werr: ErrUnknownOp},
	{name: "pub ten digits", in: "PUB foo 1234567890\r\n", werr: ErrUnknownOp},
	{name: "pub plus sign", in: "PUB foo +5\r\nhello\r\n", werr: ErrUnknownOp},
	{name: "hpub bad header size", in: "HPUB foo x 5\r\nhello\r\n", werr: ErrUnknownOp},
	{name: "hpub bad total", in: "HPUB foo 2 y\r\nhi\r\n", werr: ErrUnknownOp},
	{name: "hpub header over total", in: "HPUB foo 6 5\r\nhello\r\n", werr: ErrUnknownOp},
	{name: "unsub bad max", in: "UNSUB 1 x\r\n", werr: ErrUnknownOp},
	{name: "unsub negative max", in: "UNSUB 1 -1\r\n", werr: ErrUnknownOp},

	// The payload must be followed by CRLF.
	{name: "payload no crlf", in: "PUB foo 5\r\nhelloXY", werr: ErrUnknownOp},
	{name: "payload longer than size", in: "PUB foo 3\r\nhello\r\n", werr: ErrUnknownOp},
	{name: "payload shorter than size", in: "PUB foo 5\r\nhel\r\nPING\r\n", werr: ErrUnknownOp},
	{name: "payload bare lf", in: "PUB foo 5\r\nhello\nPING\r\n", werr: ErrUnknownOp},
	{name: "payload lf cr", in: "PUB foo 5\r\nhello\n\r", werr: ErrUnknownOp},
	{name: "payload cr junk", in: "PUB foo 5\r\nhello\rXPING\r\n", werr: ErrUnknownOp},
	{name: "hpub no crlf", in: "HPUB foo 12 12\r\nNATS/1.0\r\n\r\nXX", werr: ErrUnknownOp},
	{name: "zero payload no crlf", in: "PING\r\nPUB foo 0\r\nPING\r\n", want: []call{ping}, werr: ErrUnknownOp},

	// Control line limits, in a Parser with MaxControlLine 16. The limit
	// excludes the line ending.
	{name: "line at max", in: "PUB foo.bar.ba 5\r\nhello\r\n", maxLine: 16, want: []call{pub("foo.bar.ba", "", "hello")}},
	{name: "line at max bare lf", in: "PUB foo.bar.ba 5\nhello\r\n", maxLine: 16, want: []call{pub("foo.bar.ba", "", "hello")}},
	{name: "line at max unterminated", in: "PUB foo.bar.ba 5\r", maxLine: 16},
	{name: "line over max", in: "PUB foo.bar.baz 5\r\nhello\r\n", maxLine: 16, werr: ErrMaxControlLine},
	{name: "line over max bare lf", in: "PING\nPUB foo.bar.baz 5\nhello\r\n", maxLine: 16, want: []call{ping}, werr: ErrMaxControlLine},
	{name: "line over max unterminated", in: "PING\r\nPUB foo.bar.baz.qux", maxLine: 16, want: []call{ping}, werr: ErrMaxControlLine},
	{name: "line over max cr only", in: "PUB foo.bar.baz 5\r", maxLine: 16, werr: ErrMaxControlLine},
	{name: "long line before unknown", in: "XXXXXXXXXXXXXXXXXXXXXXXX\r\n", maxLine: 16, werr: ErrMaxControlLine},
	{name: "connect at default max", in: "CONNECT " + strings.Repeat("x", DefaultMaxControlLine-8) + "\r\n",
		want: []call{connect(strings.Repeat("x", DefaultMaxControlLine-8))}},
	{name: "connect over default max", in: "CONNECT " + strings.Repeat("x", DefaultMaxControlLine-7) + "\r\n",
		werr: ErrMaxControlLine},
	{name: "no newline over default max", in: strings.Repeat("y", DefaultMaxControlLine+2), werr: ErrMaxControlLine},

	// Payload limits.
	{name: "pub over max payload", in: "PUB foo 9\r\n123456789\r\n", maxPayload: 8, werr: ErrMaxPayload},
	{name: "hpub over max payload", in: "HPUB foo 2 9\r\n\r\n1234567\r\n", maxPayload: 8, werr: ErrMaxPayload},
	{name: "pub over default max payload", in: fmt.Sprintf("PING\r\nPUB foo %d\r\n", DefaultMaxPayload+1),
		want: []call{ping}, werr: ErrMaxPayload},
}

// feed parses chunks in order with p, stopping at the first error. Each
// chunk is parsed from a private copy that is overwritten once Parse
// returns, so a parser that keeps pointing into an earlier read is caught.
func feed(p *Parser, chunks ...[]byte) ([]call, error) {
	r := &recorder{}
	for _, c := range chunks {
		buf := append([]byte(nil), c...)
		err := p.Parse(buf, r)
		for i := range buf {
			buf[i] = '#'
		}
		if err != nil {
			return r.calls, err
		}
	}
	return r.calls, nil
}

func checkCalls(t *testing.T, how string, tc parseCase, got []call, err error) {
	t.Helper()
	if err != tc.werr {
		t.Errorf("%s: err = %v; want %v", how, err, tc.werr)
	}
	if len(got) == 0 && len(tc.want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, tc.want) {
		t.Errorf("%s: calls\n got %v\nwant %v", how, got, tc.want)
	}
}

func TestParseGolden(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			got, err := feed(tc.parser(), in)
			checkCalls(t, "whole", tc, got, err)

			bytewise := make([][]byte, len(in))
			for i := range in {
				bytewise[i] = in[i : i+1]
			}
			got, err = feed(tc.parser(), bytewise...)
			checkCalls(t, "byte by byte", tc, got, err)

			for cut := 0; cut <= len(in) && !t.Failed(); cut++ {
				got, err = feed(tc.parser(), in[:cut], in[cut:])
				checkCalls(t, fmt.Sprintf("split at %d", cut), tc, got, err)
			}
		})
	}
}

// TestParseReuse feeds the whole table through one Parser per limit
// setting, resetting it only after an error or an incomplete frame, so
// state left over from one case would show up in the next.
func TestParseReuse(t *testing.T) {
	parsers := map[[2]int]*Parser{}
	for _, tc := range parseCases {
		key := [2]int{tc.maxLine, tc.maxPayload}
		p := parsers[key]
		if p == nil {
			p = tc.parser()
			parsers[key] = p
		}
		in := []byte(tc.in)
		got, err := feed(p, in[:len(in)/2], in[len(in)/2:])
		checkCalls(t, tc.name, tc, got, err)
		if err != nil || p.Buffered() > 0 {
			p.Reset()
		}
	}
}

// zeroCopy checks that every slice handed to Pub lies inside buf.
type zeroCopy struct {
	t      *testing.T
	buf    []byte
	pubs   int
	copied int // leading Pub calls allowed to be copies (split frames)
}

func inside(buf, s []byte) bool {
	if len(s) == 0 {
		return true
	}
	for i := range buf {
		if &buf[i] == &s[0] {
			return i+len(s) <= len(buf)
		}
	}
	return false
}

func (z *zeroCopy) Pub(subject, reply, header, payload []byte) error {
	z.pubs++
	if z.pubs <= z.copied {
		return nil
	}
	for _, s := range [][]byte{subject, reply, header, payload} {
		if !inside(z.buf, s) {
			z.t.Errorf("Pub got %q, a copy; want a slice of the input", s)
		}
	}
	return nil
}

func (z *zeroCopy) Connect([]byte) error      { return nil }
func (z *zeroCopy) Sub(_, _, _ []byte) error  { return nil }
func (z *zeroCopy) Unsub([]byte, int64) error { return nil }
func (z *zeroCopy) Ping() error               { return nil }
func (z *zeroCopy) Pong() error               { return nil }

func pubCount(calls []call) (n int) {
	for _, c := range calls {
		if c.Op == "PUB" || c.Op == "HPUB" {
			n++
		}
	}
	return n
}

func TestParseZeroCopy(t *testing.T) {
	for _, tc := range parseCases {
		want := pubCount(tc.want)
		if want == 0 {
			continue
		}
		in := []byte(tc.in)
		z := &zeroCopy{t: t, buf: in}
		_ = tc.parser().Parse(in, z)
		if z.pubs != want {
			t.Errorf("%s: %d Pub calls; want %d", tc.name, z.pubs, want)
		}
	}

	// A split payload is copied, but the whole frames after it are not.
	p := &Parser{}
	if err := p.Parse([]byte("PUB a 5\r\nhel"), &recorder{}); err != nil {
		t.Fatal(err)
	}
	rest := []byte("lo\r\nPUB b r 2\r\nhi\r\nHPUB c 12 13\r\nNATS/1.0\r\n\r\n!\r\n")
	z := &zeroCopy{t: t, buf: rest, copied: 1}
	if err := p.Parse(rest, z); err != nil || z.pubs != 3 {
		t.Errorf("Parse = %v after %d Pub calls; want nil after 3", err, z.pubs)
	}
}

// scribbler records like recorder, then appends to every slice it was
// given, as a careless Handler might: it fills up to 8 bytes of spare
// capacity, which is where an append would write.
type scribbler struct{ recorder }

func scribble(bs ...[]byte) {
	for _, b := range bs {
		spare := b[len(b):cap(b)]
		for i := 0; i < len(spare) && i < 8; i++ {
			spare[i] = '!'
		}
	}
}

func (s *scribbler) Connect(opts []byte) error {
	defer scribble(opts)
	return s.recorder.Connect(opts)
}

func (s *scribbler) Pub(subject, reply, header, payload []byte) error {
	defer scribble(subject, reply, header, payload)
	return s.recorder.Pub(subject, reply, header, payload)
}

func (s *scribbler) Sub(subject, queue, sid []byte) error {
	defer scribble(subject, queue, sid)
	return s.recorder.Sub(subject, queue, sid)
}

func (s *scribbler) Unsub(sid []byte, max int64) error {
	defer scribble(sid)
	return s.recorder.Unsub(sid, max)
}

// TestParseHandlerAppends checks that a Handler appending to the slices it
// is given cannot overwrite the rest of the frame or the operations after
// it in the same read.
func TestParseHandlerAppends(t *testing.T) {
	for _, tc := range parseCases {
		in := []byte(tc.in)
		for _, cut := range []int{len(in), len(in) / 2} {
			p, s := tc.parser(), &scribbler{}
			err := p.Parse(in[:cut:cut], s)
			if err == nil {
				err = p.Parse(in[cut:], s)
			}
			checkCalls(t, fmt.Sprintf("%s split at %d", tc.name, cut), tc, s.calls, err)
		}
	}
}

var errStop = errors.New("stop")

func TestParseHandlerError(t *testing.T) {
	tests := []struct {
		in     string
		failOn int
		cut    int
		want   int // calls made
	}{
		{"PING\r\nPONG\r\nPING\r\n", 2, -1, 2},
		{"SUB a 1\r\nPING\r\n", 1, -1, 1},
		{"PUB a 1\r\nx\r\nPING\r\n", 1, -1, 1},
		{"PUB a 1\r\nx\r\nPING\r\n", 1, 10, 1}, // payload split
		{"CONNECT {}\r\nPING\r\n", 1, -1, 1},
		{"UNSUB 1\r\nPING\r\n", 1, -1, 1},
		{"PONG\r\nPING\r\n", 1, 3, 1},
	}
	for _, tt := range tests {
		r := &recorder{failOn: tt.failOn, failErr: errStop}
		p := &Parser{}
		in := []byte(tt.in)
		var err error
		if tt.cut < 0 {
			err = p.Parse(in, r)
		} else if err = p.Parse(in[:tt.cut], r); err == nil {
			err = p.Parse(in[tt.cut:], r)
		}
		if err != errStop || len(r.calls) != tt.want {
			t.Errorf("Parse(%q) with failing call %d = %v after %d calls; want %v after %d",
				tt.in, tt.failOn, err, len(r.calls), errStop, tt.want)
		}
	}
}

func TestParseBufferedReset(t *testing.T) {
	p := &Parser{}
	r := &recorder{}
	steps := []struct {
		in       string
		buffered int
	}{
		{"", 0},
		{"PI", 2},
		{"NG\r\nSUB", 3},
		{" a 1\r\n", 0},
		{"PUB a 5\r\nhe", 2},
		{"llo\r", 6},
		{"\n", 0},
	}
	for _, s := range steps {
		if err := p.Parse([]byte(s.in), r); err != nil {
			t.Fatalf("Parse(%q) = %v", s.in, err)
		}
		if got := p.Buffered(); got != s.buffered {
			t.Errorf("after %q: Buffered() = %d; want %d", s.in, got, s.buffered)
		}
	}
	want := []call{ping, sub("a", "", "1"), pub("a", "", "hello")}
	if !reflect.DeepEqual(r.calls, want) {
		t.Errorf("calls = %v; want %v", r.calls, want)
	}

	// Reset drops a partial frame and keeps the limits.
	p = &Parser{MaxControlLine: 16}
	r = &recorder{}
	for _, partial := range []string{"PUB a 5\r\nhe", "SUB a"} {
		if err := p.Parse([]byte(partial), r); err != nil {
			t.Fatal(err)
		}
		p.Reset()
		if p.Buffered() != 0 || p.MaxControlLine != 16 {
			t.Errorf("after Reset: Buffered() = %d, MaxControlLine = %d; want 0, 16", p.Buffered(), p.MaxControlLine)
		}
		if err := p.Parse([]byte("PING\r\n"), r); err != nil || len(r.calls) != 1 {
			t.Fatalf("after Reset: Parse(PING) = %v, %d calls", err, len(r.calls))
		}
		r.calls = nil
	}
	if err := p.Parse([]byte("PUB abcdefghijklmn 1\r\n"), r); err != ErrMaxControlLine {
		t.Errorf("after Reset: long line err = %v; want %v", err, ErrMaxControlLine)
	}
}

// TestParseSplitLineBounded checks that a control line split across reads
// is refused before its scratch copy grows past the limit, however much
// the read that ends it carries.
func TestParseSplitLineBounded(t *testing.T) {
	p := &Parser{MaxControlLine: 16}
	r := &recorder{}
	if err := p.Parse([]byte("PUB a"), r); err != nil {
		t.Fatal(err)
	}
	long := append([]byte(strings.Repeat("x", 64<<10)), "\r\n"...)
	if err := p.Parse(long, r); err != ErrMaxControlLine {
		t.Fatalf("err = %v; want %v", err, ErrMaxControlLine)
	}
	if c := cap(p.line); c > 1024 {
		t.Errorf("scratch line grew to %d bytes; limit is 16", c)
	}
}

type nopHandler struct{}

func (nopHandler) Connect([]byte) error        { return nil }
func (nopHandler) Pub(_, _, _, _ []byte) error { return nil }
func (nopHandler) Sub(_, _, _ []byte) error    { return nil }
func (nopHandler) Unsub([]byte, int64) error   { return nil }
func (nopHandler) Ping() error                 { return nil }
func (nopHandler) Pong() error                 { return nil }

func TestParseAllocs(t *testing.T) {
	hpubIn := []byte("HPUB foo.bar reply.x 22 27\r\nNATS/1.0\r\nBar: Baz\r\n\r\nhello\r\n")
	tests := []struct {
		name   string
		chunks []string
	}{
		{"pub whole", []string{"PUB foo.bar 5\r\nhello\r\n"}},
		{"hpub whole", []string{string(hpubIn)}},
		{"pipelined whole", []string{"SUB foo 1\r\nPUB foo 5\r\nhello\r\nUNSUB 1 1\r\nPING\r\nPONG\r\n"}},
		{"pub payload split", []string{"PUB foo.bar 5\r\nhel", "lo\r\n"}},
		{"pub line split", []string{"PUB foo", ".bar 5\r\nhello\r\n"}},
		{"hpub split", []string{string(hpubIn[:30]), string(hpubIn[30:])}},
		{"pub reply split thrice", []string{"PUB foo.bar _INBOX.1 5\r", "\nhe", "llo\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := make([][]byte, len(tt.chunks))
			for i, c := range tt.chunks {
				chunks[i] = []byte(c)
			}
			var p Parser
			var h Handler = nopHandler{}
			run := func() {
				for _, c := range chunks {
					if err := p.Parse(c, h); err != nil {
						t.Fatal(err)
					}
				}
			}
			run() // warm up: split frames size the scratch space once
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Errorf("allocs per parse = %v; want 0", n)
			}
		})
	}
}

func BenchmarkParsePub(b *testing.B) {
	for _, size := range []int{16, 128, 1024} {
		frame := AppendPub(nil, "foo.bar.baz", "_INBOX.reply", nil, []byte(strings.Repeat("x", size)))
		b.Run(fmt.Sprintf("%db", size), func(b *testing.B) {
			var p Parser
			var h Handler = nopHandler{}
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Parse(frame, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
