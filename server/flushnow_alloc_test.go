//go:build !race && linux

package server

import (
	"bytes"
	"fmt"
	"net"
	"testing"
)

// A read loop writing a message to an idle subscriber's socket itself
// allocates nothing: no goroutine, no buffers.
func TestWriteNowAllocs(t *testing.T) {
	s := loopServer(t, Options{})
	sub, peer := idleTCPClient(t, s)
	if sub.raw == nil {
		t.Fatal("no raw socket for a TCP connection")
	}
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 64<<10)
		total := 0
		for {
			n, err := peer.Read(buf)
			total += n
			if err != nil {
				got <- total
				return
			}
		}
	}()

	send(t, sub, "SUB foo 1\r\n")
	pub := loopClient(t, s, "")
	msg := []byte("PUB foo 5\r\nhello\r\n")
	run := func() {
		if err := pub.parser.Parse(msg, pub); err != nil {
			t.Fatal(err)
		}
		pub.pc.flushNow()
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per message written at once; want 0", n)
	}
	if sub.out.writing.Load() {
		t.Error("a write loop is running; the read loop should have written everything")
	}
	sub.nc.Close()
	const each = len("MSG foo 1 5\r\nhello\r\n")
	if n := <-got; n != 202*each {
		t.Errorf("peer read %d bytes; want %d (202 messages)", n, 202*each)
	}
}

// A large message written at once from the read buffer it arrived in
// allocates nothing either, and leaves the buffer free for the next read.
func TestWriteNowSharedAllocs(t *testing.T) {
	s := loopServer(t, Options{})
	sub, peer := idleTCPClient(t, s)
	// Room in the socket buffers for every message even if the peer
	// reads none until the end: each is then written at once.
	sub.nc.(*net.TCPConn).SetWriteBuffer(256 << 10)
	peer.(*net.TCPConn).SetReadBuffer(256 << 10)
	payload := bytes.Repeat([]byte("k"), shareMin)
	want := fmt.Appendf(nil, "MSG foo 1 %d\r\n%s\r\n", shareMin, payload)
	bad := make(chan string, 1)
	got := make(chan int, 1)
	go func() {
		var stream []byte
		buf := make([]byte, 64<<10)
		total := 0
		for {
			n, err := peer.Read(buf)
			total += n
			stream = append(stream, buf[:n]...)
			for len(stream) >= len(want) {
				if !bytes.Equal(stream[:len(want)], want) {
					select {
					case bad <- string(stream[:len(want)]):
					default:
					}
				}
				stream = stream[len(want):]
			}
			if err != nil {
				got <- total
				return
			}
		}
	}()

	send(t, sub, "SUB foo 1\r\n")
	pub := loopClient(t, s, "")
	rb := getReadBuf(16 << 10)
	msg := fmt.Appendf(nil, "PUB foo %d\r\n%s\r\n", shareMin, payload)
	n := copy(rb.b, msg)
	held := 0
	run := func() {
		pub.pc.rb = rb
		if err := pub.parser.Parse(rb.b[:n], pub); err != nil {
			t.Fatal(err)
		}
		pub.pc.rb = nil
		held += int(rb.refs.Load()) - 1
		pub.pc.flushNow()
		if rb.refs.Load() != 1 {
			t.Fatal("the read buffer is still held by a queue after the message was written")
		}
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per shared message written at once; want 0", n)
	}
	if held != 22 {
		t.Errorf("%d of 22 messages were queued from the read buffer; want all", held)
	}
	sub.nc.Close()
	if n := <-got; n != 22*len(want) {
		t.Errorf("peer read %d bytes; want %d (22 messages)", n, 22*len(want))
	}
	select {
	case m := <-bad:
		t.Errorf("peer read %q; want %q", m, want)
	default:
	}
}
