package websocket

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// A client connection to a server that does not agree to unmasked frames
// (this package's own, which requires masked ones) masks what it writes,
// and reads the server's frames: what it sends comes back whole.
func TestClientMasksUnlessAgreed(t *testing.T) {
	l := startEcho(t, Options{})
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(testTimeout))
	c, err := Client(nc, "127.0.0.1", "leafnode")
	if err != nil {
		t.Fatal(err)
	}
	if !c.maskOut {
		t.Fatal("the server did not agree to unmasked frames, yet the client does not mask")
	}
	msg := bytes.Repeat([]byte("INFO {} 0123456789\r\n"), 5000) // > 64 KiB: an 8-byte length
	for _, p := range [][]byte{[]byte("PING\r\n"), msg} {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(p))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("echo of %d bytes: %v (equal %v)", len(p), err, bytes.Equal(got, p))
		}
	}
}
