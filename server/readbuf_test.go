package server

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// idleRaw stands in for the raw socket of a plain TCP subscriber in tests
// that read its queue instead of writing it: it is never called.
type idleRaw struct{}

func (idleRaw) Control(func(uintptr)) error       { return nil }
func (idleRaw) Read(func(uintptr) bool) error     { return syscall.EINVAL }
func (idleRaw) Write(func(fd uintptr) bool) error { return syscall.EINVAL }

// parseFrom parses ops as the read loop does with a read buffer: copied
// into rb, with the producer told which buffer it parses.
func parseFrom(t testing.TB, c *client, rb *readBuf, ops string) {
	t.Helper()
	n := copy(rb.b, ops)
	if n < len(ops) {
		t.Fatalf("%d bytes do not fit a read buffer of %d", len(ops), len(rb.b))
	}
	c.pc.rb = rb
	err := c.parser.Parse(rb.b[:n], c)
	c.pc.rb = nil
	c.pc.flush()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
}

// A payload of shareMin bytes or more, delivered to a TCP subscriber, is
// queued as a slice of the read buffer, not copied, and the queue writes
// the same bytes as a copied one would: MSG, HMSG, and HMSG to a client
// without headers (which gets the payload alone).
func TestSharedPayloadQueuesReadBuffer(t *testing.T) {
	const size = shareMin + 100
	payload := strings.Repeat("p", size)
	const hdr = "NATS/1.0\r\nA: b\r\n\r\n"
	tests := []struct {
		name, connect, pub, want string
	}{
		{"msg", "", fmt.Sprintf("PUB big %d\r\n%s\r\n", size, payload), fmt.Sprintf("MSG big 1 %d\r\n%s\r\n", size, payload)},
		{"msg reply", "", fmt.Sprintf("PUB big r.1 %d\r\n%s\r\n", size, payload), fmt.Sprintf("MSG big 1 r.1 %d\r\n%s\r\n", size, payload)},
		{"hmsg", `{"headers":true,"verbose":false}`, fmt.Sprintf("HPUB big %d %d\r\n%s%s\r\n", len(hdr), len(hdr)+size, hdr, payload),
			fmt.Sprintf("HMSG big 1 %d %d\r\n%s%s\r\n", len(hdr), len(hdr)+size, hdr, payload)},
		{"hmsg to a client without headers", "", fmt.Sprintf("HPUB big %d %d\r\n%s%s\r\n", len(hdr), len(hdr)+size, hdr, payload),
			fmt.Sprintf("MSG big 1 %d\r\n%s\r\n", size, payload)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loopServer(t, Options{})
			sub := loopClient(t, s, tt.connect)
			sub.raw = idleRaw{}
			send(t, sub, "SUB big 1\r\n")
			pub := loopClient(t, s, `{"headers":true,"verbose":false}`)
			rb := getReadBuf(64 << 10)
			parseFrom(t, pub, rb, tt.pub+tt.pub)
			if got := rb.refs.Load() - 1; got != 1 {
				t.Errorf("read buffer held by %d queues; want 1 (two messages of one buffer, one hold)", got)
			}
			if got := string(sub.out.bytes()); got != tt.want+tt.want {
				t.Errorf("queued %q; want %q", got, tt.want+tt.want)
			}
			sub.mu.Lock()
			pending := sub.out.pending()
			sub.mu.Unlock()
			if pending != 2*len(tt.want) {
				t.Errorf("pending %d bytes; want %d", pending, 2*len(tt.want))
			}
			takeOut(sub)
			if got := rb.refs.Load() - 1; got != 0 {
				t.Errorf("read buffer still held by %d queues after the queue was dropped", got)
			}
		})
	}
}

// Small payloads, subscribers without a raw socket and payloads that came
// split across reads are copied: nothing holds the read buffer.
func TestSharedPayloadOnlyWhereItPays(t *testing.T) {
	s := loopServer(t, Options{})
	tcp := loopClient(t, s, "")
	tcp.raw = idleRaw{}
	send(t, tcp, "SUB x 1\r\n")
	other := loopClient(t, s, "") // TLS, WebSocket or in-process: no raw socket
	send(t, other, "SUB x 1\r\n")
	pub := loopClient(t, s, "")
	rb := getReadBuf(64 << 10)

	small := strings.Repeat("s", shareMin-1)
	parseFrom(t, pub, rb, fmt.Sprintf("PUB x %d\r\n%s\r\n", len(small), small))
	if got := rb.refs.Load() - 1; got != 0 {
		t.Errorf("a payload of %d bytes holds the read buffer (%d)", len(small), got)
	}
	big := strings.Repeat("b", 2*shareMin)
	parseFrom(t, pub, rb, fmt.Sprintf("PUB x %d\r\n%s", len(big), big[:shareMin]))
	parseFrom(t, pub, getReadBuf(64<<10), big[shareMin:]+"\r\n")
	if got := rb.refs.Load() - 1; got != 0 {
		t.Errorf("a payload split across reads holds the read buffer (%d)", got)
	}
	want := fmt.Sprintf("MSG x 1 %d\r\n%s\r\nMSG x 1 %d\r\n%s\r\n", len(small), small, len(big), big)
	expectOut(t, tcp, want)
	expectOut(t, other, want)
}

// A subscriber that does not keep up holds at most maxPins read buffers
// in its queue and maxPins more in the write it has started; every later
// message is copied, and all arrive in order.
func TestSharedPayloadPinsBounded(t *testing.T) {
	s := loopServer(t, Options{})
	sub := loopClient(t, s, "")
	sub.raw = idleRaw{}
	send(t, sub, "SUB slow 1\r\n")
	pub := loopClient(t, s, "")
	var want strings.Builder
	var bufs []*readBuf
	publish := func(reads int) {
		for range reads {
			rb := getReadBuf(64 << 10)
			bufs = append(bufs, rb)
			var ops strings.Builder
			for k := range 4 {
				p := strings.Repeat(string(rune('a'+(len(bufs)+k)%26)), shareMin)
				fmt.Fprintf(&ops, "PUB slow %d\r\n%s\r\n", shareMin, p)
				fmt.Fprintf(&want, "MSG slow 1 %d\r\n%s\r\n", shareMin, p)
			}
			parseFrom(t, pub, rb, ops.String())
		}
	}
	publish(maxPins + 3)
	if got := heldByQueues(bufs); got != maxPins {
		t.Errorf("a subscriber's queue holds %d read buffers; want %d", got, maxPins)
	}
	sub.mu.Lock()
	inflight := sub.out.take() // its write loop starts writing them
	sub.mu.Unlock()
	publish(maxPins + 3)
	if got := heldByQueues(bufs); got != 2*maxPins {
		t.Errorf("with a write under way the subscriber holds %d read buffers; want %d", got, 2*maxPins)
	}
	var got []byte
	for _, p := range appendBufs(nil, inflight) {
		got = append(got, p...)
	}
	got = append(got, sub.out.bytes()...)
	if string(got) != want.String() {
		t.Error("the subscriber's bytes differ from the messages published, in order")
	}
	for _, ck := range inflight {
		putChunk(ck)
	}
	takeOut(sub)
	if got := heldByQueues(bufs); got != 0 {
		t.Errorf("%d read buffers still held after everything was written", got)
	}
}

// A subscriber that gets one message of each large read buffer holds one
// of them at most and copies the rest: it does not keep whole buffers for
// a few messages.
func TestSharedPayloadSparseSubscriberCopies(t *testing.T) {
	s := loopServer(t, Options{})
	sub := loopClient(t, s, "")
	sub.raw = idleRaw{}
	send(t, sub, "SUB rare 1\r\n")
	pub := loopClient(t, s, "")
	var bufs []*readBuf
	var want strings.Builder
	for i := range 8 {
		rb := getReadBuf(maxReadBuf)
		bufs = append(bufs, rb)
		p := strings.Repeat(string(rune('a'+i)), shareMin)
		parseFrom(t, pub, rb, fmt.Sprintf("PUB rare %d\r\n%s\r\nPUB other %d\r\n%s\r\n", shareMin, p, shareMin, p))
		fmt.Fprintf(&want, "MSG rare 1 %d\r\n%s\r\n", shareMin, p)
	}
	if got := heldByQueues(bufs); got != 1 {
		t.Errorf("the subscriber holds %d read buffers of %d bytes for 8 messages of %d; want 1", got, maxReadBuf, shareMin)
	}
	expectOut(t, sub, want.String())
}

// heldByQueues counts the holds of queues on bufs, leaving out each
// buffer's hold by its read loop.
func heldByQueues(bufs []*readBuf) (n int32) {
	for _, rb := range bufs {
		n += rb.refs.Load() - 1
	}
	return n
}

// The read loop never reads into a buffer a queue still writes from, and
// a buffer goes back to its pool only when its last holder lets go.
func TestReadBufNextSkipsHeld(t *testing.T) {
	for n := minReadBuf; n <= maxReadBuf; n *= 2 {
		if rb := getReadBuf(n); len(rb.b) != n || rb.refs.Load() != 1 {
			t.Fatalf("getReadBuf(%d): %d bytes, %d holders", n, len(rb.b), rb.refs.Load())
		}
	}
	a := getReadBuf(1024)
	if next(a) != a {
		t.Fatal("a buffer no queue holds is not read into again")
	}
	a.refs.Add(1) // a queue shares a payload in it
	b := next(a)
	if b == a {
		t.Fatal("read into a held buffer")
	}
	if got := a.refs.Load(); got != 1 {
		t.Fatalf("the read loop still holds the buffer it left: %d holders; want 1", got)
	}
	if len(b.b) != 1024 || b.refs.Load() != 1 {
		t.Errorf("next buffer: %d bytes, %d holders; want 1024, 1", len(b.b), b.refs.Load())
	}
	if c := resize(b, 2048); len(c.b) != 2048 || c.refs.Load() != 1 {
		t.Errorf("resize: %d bytes, %d holders; want 2048, 1", len(c.b), c.refs.Load())
	}
}
