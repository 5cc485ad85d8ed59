package tests

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/wrenmq/wren/server"
)

// sharedPayload is the payload of message seq: its size cycles through
// sizes below and above the size from which payloads are written straight
// from the publisher's read buffer, and its bytes name seq.
func sharedPayload(seq int) []byte {
	sizes := [...]int{600, 8191, 8192, 16, 9000, 40000, 1500, 70000}
	n := sizes[seq%len(sizes)]
	b := bytes.Repeat([]byte{byte('a' + seq%26)}, n)
	copy(b, fmt.Sprintf("%d.", seq))
	return b
}

// Every subscriber gets every message intact and in order while the
// server writes large payloads from the publisher's read buffers: a
// subscriber that keeps up, and one that reads nothing until the publisher
// is done, so that its queue holds on to read buffers while the publisher
// goes on reading.
func TestCoreSharedPayloadsIntact(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	const n = 300

	slow := dialRaw(t, s)
	slow.connect(`"headers":true`)
	slow.send("SUB data.> 1\r\n")
	slow.ping()

	fastNC := connectNATS(t, s)
	fast, err := fastNC.SubscribeSync("data.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := fast.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, fastNC)

	pub := connectNATS(t, s)
	for seq := range n {
		m := nats.NewMsg("data." + strconv.Itoa(seq%3))
		m.Data = sharedPayload(seq)
		if seq%4 == 1 {
			m.Header.Set("Seq", strconv.Itoa(seq))
		}
		if err := pub.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, pub)

	check := func(who string, seq int, subject string, header nats.Header, data []byte) {
		t.Helper()
		if want := "data." + strconv.Itoa(seq%3); subject != want {
			t.Fatalf("%s: message %d on %q; want %q", who, seq, subject, want)
		}
		if want := sharedPayload(seq); !bytes.Equal(data, want) {
			t.Fatalf("%s: message %d has %d bytes starting %.20q; want %d starting %.20q", who, seq, len(data), data, len(want), want)
		}
		if got, want := header.Get("Seq"), map[bool]string{true: strconv.Itoa(seq)}[seq%4 == 1]; got != want {
			t.Fatalf("%s: message %d has header Seq %q; want %q", who, seq, got, want)
		}
	}
	for seq := range n {
		m, err := fast.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("fast subscriber: message %d: %v", seq, err)
		}
		check("fast subscriber", seq, m.Subject, m.Header, m.Data)
	}
	for seq := range n {
		m := slow.readMsg(slow.readLine())
		var h nats.Header
		if m.header != nil {
			h = parseRawHeader(t, m.header)
		}
		check("slow subscriber", seq, m.subject, h, m.data)
	}
	if got := slow.collectUntilPong(); len(got) != 0 {
		t.Errorf("slow subscriber got %d messages more than were published", len(got))
	}
}

// parseRawHeader reads a NATS/1.0 header block.
func parseRawHeader(t *testing.T, b []byte) nats.Header {
	t.Helper()
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\r\n\r\n")), []byte("\r\n"))
	if len(lines) == 0 || !bytes.HasPrefix(lines[0], []byte("NATS/1.0")) {
		t.Fatalf("header block %q does not start with NATS/1.0", b)
	}
	h := nats.Header{}
	for _, l := range lines[1:] {
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			t.Fatalf("header line %q has no colon", l)
		}
		h.Add(string(k), string(bytes.TrimSpace(v)))
	}
	return h
}
