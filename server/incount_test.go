package server

import "testing"

// A read buffer's PUBs are in the server's counters once the read loop has
// served the buffer.
func TestInCountsAfterReadBuffer(t *testing.T) {
	s := loopServer(t, Options{})
	c := loopClient(t, s, "")
	base := s.Stats()
	rb := getReadBuf(4096)
	n := copy(rb.b, "PUB a 3\r\nabc\r\nHPUB a 12 14\r\nNATS/1.0\r\n\r\nxy\r\nPUB b 0\r\n\r\n")
	c.serve(&rawReader{c: c, rb: rb}, n)
	st := s.Stats()
	if got := st.InMsgs - base.InMsgs; got != 3 {
		t.Errorf("InMsgs = %d; want 3", got)
	}
	if got := st.InBytes - base.InBytes; got != 17 {
		t.Errorf("InBytes = %d; want 17", got)
	}
}

// The PUBs before a PING are counted when its PONG is queued, so a client
// that has its PONG sees them in /varz and /connz; those after it are
// counted with the rest of the buffer.
func TestInCountsBeforePong(t *testing.T) {
	s := loopServer(t, Options{})
	c := loopClient(t, s, "")
	if err := c.parser.Parse([]byte("PUB a 3\r\nabc\r\nPUB a 1\r\nx\r\nPING\r\nPUB a 2\r\nxy\r\n"), c); err != nil {
		t.Fatal(err)
	}
	if got := takeOut(c); got != "PONG\r\n" {
		t.Fatalf("queued %q; want a PONG", got)
	}
	if m, b := c.inMsgs.Load(), c.inBytes.Load(); m != 2 || b != 4 {
		t.Errorf("counted when the PONG was queued: %d msgs, %d bytes; want 2 and 4", m, b)
	}
	c.foldIn()
	if m, b := c.inMsgs.Load(), c.inBytes.Load(); m != 3 || b != 6 {
		t.Errorf("counted after the buffer: %d msgs, %d bytes; want 3 and 6", m, b)
	}
}
