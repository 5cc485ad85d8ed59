package protocol

import (
	"bytes"
	"testing"
)

// generalPub parses a PUB's arguments the general way, as op does for
// any line the fast path declines.
func generalPub(b []byte) (subj, reply []byte, size int, ok bool) {
	var argv [6][]byte
	args, ok := splitArgs(b, &argv)
	if !ok || (len(args) != 2 && len(args) != 3) {
		return nil, nil, 0, false
	}
	size = parseSize(args[len(args)-1])
	if size < 0 {
		return nil, nil, 0, false
	}
	if len(args) == 3 {
		reply = args[1]
	}
	return args[0], reply, size, true
}

var pubArgsCases = []string{
	"foo 5", "foo.bar _INBOX.x 1024", "a 0", "foo  5", " foo 5", "foo 5 ",
	"foo\t5", "foo bar\t5", "foo bar baz 5", "foo x", "foo 1234567890", "foo",
	"", " ", "foo bar", "foo  bar 5", "foo bar  5", "f 999999999",
}

// TestPubArgsAgreesWithGeneralPath: whatever the fast path accepts, the
// general path reads the same way; lines it declines still parse (or
// fail) through the general path.
func TestPubArgsAgreesWithGeneralPath(t *testing.T) {
	accepted := 0
	for _, in := range pubArgsCases {
		s, r, n, ok := pubArgs([]byte(in))
		if !ok {
			continue
		}
		accepted++
		gs, gr, gn, gok := generalPub([]byte(in))
		if !gok || !bytes.Equal(s, gs) || !bytes.Equal(r, gr) || (r == nil) != (gr == nil) || n != gn {
			t.Errorf("%q: fast %q %q %d, general %q %q %d %v", in, s, r, n, gs, gr, gn, gok)
		}
	}
	if accepted != 4 {
		t.Errorf("fast path accepted %d of the cases, want 4 (the single-spaced ones)", accepted)
	}
	// Declined lines go the general way: tabs and runs of spaces still work.
	var p Parser
	var h recorder
	if err := p.Parse([]byte("PUB\tfoo\t\tbar  3\r\nabc\r\nPUB foo 3\r\nxyz\r\n"), &h); err != nil {
		t.Fatal(err)
	}
	want := []call{
		{Op: "PUB", Subject: "foo", Reply: "bar", Payload: "abc"},
		{Op: "PUB", Subject: "foo", Payload: "xyz"},
	}
	if !sameCalls(h.calls, want) {
		t.Fatalf("calls %+v", h.calls)
	}
}

func FuzzPubArgs(f *testing.F) {
	for _, in := range pubArgsCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, r, n, ok := pubArgs(in)
		if !ok {
			return
		}
		gs, gr, gn, gok := generalPub(in)
		if !gok || !bytes.Equal(s, gs) || !bytes.Equal(r, gr) || (r == nil) != (gr == nil) || n != gn {
			t.Fatalf("%q: fast %q %q %d, general %q %q %d %v", in, s, r, n, gs, gr, gn, gok)
		}
	})
}
