//go:build !race

// Allocation counts are checked without the race detector, whose
// instrumentation and deliberate sync.Pool misses allocate; the plain
// test run (the README's test command) runs them.

package server

import (
	"strings"
	"testing"

	"github.com/wrenmq/wren/protocol"
)

// The PUB→MSG path on a cached subject allocates nothing: parse, match
// through the producer's cache, append to each subscriber's buffer, wake
// the writers.
func TestPubDeliverAllocs(t *testing.T) {
	tests := []struct {
		name    string
		connect string   // the subscribers' CONNECT
		subs    []string // one SUB per subscriber
		pub     string
		want    string // what the first subscriber receives
	}{
		{
			name: "literal",
			subs: []string{"SUB foo.bar 1\r\n"},
			pub:  "PUB foo.bar 5\r\nhello\r\n",
			want: "MSG foo.bar 1 5\r\nhello\r\n",
		},
		{
			name: "wildcards and reply",
			subs: []string{"SUB foo.* 1\r\n", "SUB foo.> 2\r\n", "SUB > 3\r\n"},
			pub:  "PUB foo.bar _INBOX.abc 5\r\nhello\r\n",
			want: "MSG foo.bar 1 _INBOX.abc 5\r\nhello\r\n",
		},
		{
			name: "queue group",
			subs: []string{"SUB foo.bar 1\r\n", "SUB foo.bar q 2\r\n", "SUB foo.* q 3\r\n", "SUB foo.bar r 4\r\n"},
			pub:  "PUB foo.bar 5\r\nhello\r\n",
			want: "MSG foo.bar 1 5\r\nhello\r\n",
		},
		{
			name:    "headers",
			connect: `{"headers":true,"verbose":false}`,
			subs:    []string{"SUB foo.bar 1\r\n", "SUB foo.bar 2\r\n"},
			pub:     "HPUB foo.bar 12 17\r\nNATS/1.0\r\n\r\nhello\r\n",
			want:    "HMSG foo.bar 1 12 17\r\nNATS/1.0\r\n\r\nhello\r\n",
		},
		{
			// Replies and acks are never cached: matched into the
			// producer's own result instead.
			name: "reply to an inbox",
			subs: []string{"SUB _INBOX.abc.* 1\r\n", "SUB _INBOX.> 2\r\n"},
			pub:  "PUB _INBOX.abc.7 5\r\nhello\r\n",
			want: "MSG _INBOX.abc.7 1 5\r\nhello\r\n",
		},
		{
			name: "stream ack",
			subs: []string{"SUB $JS.ACK.S.C.> 1\r\n"},
			pub:  "PUB $JS.ACK.S.C.1.5.5.1700000000000000000.0 0\r\n\r\n",
			want: "MSG $JS.ACK.S.C.1.5.5.1700000000000000000.0 1 0\r\n\r\n",
		},
		{
			name: "split across reads", // the parser's scratch path
			subs: []string{"SUB foo.bar 1\r\n"},
			pub:  "PUB foo.bar 5\r\nhel|lo\r\n",
			want: "MSG foo.bar 1 5\r\nhello\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loopServer(t, Options{})
			pub := loopClient(t, s, tt.connect)
			var subs []*client
			for _, op := range tt.subs {
				c := loopClient(t, s, tt.connect)
				send(t, c, op)
				subs = append(subs, c)
			}
			var reads [][]byte
			for _, part := range strings.Split(tt.pub, "|") {
				reads = append(reads, []byte(part))
			}
			run := func() {
				for _, c := range subs {
					c.out.reset()
				}
				for _, r := range reads {
					if err := pub.parser.Parse(r, pub); err != nil {
						t.Fatalf("Parse: %v", err)
					}
				}
				pub.pc.flush()
			}
			run() // warm the caches and grow the buffers
			if got := string(subs[0].out.bytes()); got != tt.want {
				t.Fatalf("subscriber got %q; want %q", got, tt.want)
			}
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Errorf("%s: %v allocations per PUB; want 0", tt.name, n)
			}
		})
	}
}

// An in-process publish to an in-process subscriber allocates nothing
// either, once the producer pool and caches are warm.
func TestInProcPublishAllocs(t *testing.T) {
	s := loopServer(t, Options{})
	ip := s.InProc("alloc")
	n := 0
	if _, err := ip.Subscribe("svc.>", "", func(m *protocol.Msg) { n += len(m.Data) }); err != nil {
		t.Fatal(err)
	}
	data := []byte("hello")
	publish := func() {
		if err := ip.Publish("svc.echo", "", nil, data); err != nil {
			t.Fatal(err)
		}
	}
	publish()
	if n != len(data) {
		t.Fatalf("handler saw %d bytes; want %d", n, len(data))
	}
	if a := testing.AllocsPerRun(200, publish); a != 0 {
		t.Errorf("%v allocations per in-process publish; want 0", a)
	}
}

// A cached subject is matched without allocating, from a string or bytes.
func TestSublistMatchAllocs(t *testing.T) {
	sl := NewSublist()
	for _, f := range []string{"foo.bar", "foo.*", "foo.>", ">"} {
		if err := sl.Insert(slSub(f, "")); err != nil {
			t.Fatal(err)
		}
	}
	b := []byte("foo.bar")
	sl.Match("foo.bar")
	if n := testing.AllocsPerRun(200, func() { sl.Match("foo.bar") }); n != 0 {
		t.Errorf("Match: %v allocations; want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { sl.matchBytes(b) }); n != 0 {
		t.Errorf("matchBytes: %v allocations; want 0", n)
	}
}
