//go:build !race && linux

package server

import (
	"net"
	"testing"
)

// A read loop writing a message to an idle subscriber's socket itself
// allocates nothing: no goroutine, no buffers.
func TestWriteNowAllocs(t *testing.T) {
	s := loopServer(t, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
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

	s.mu.Lock()
	s.nextCID++
	sub := newClient(s, nc, s.nextCID, kindClient)
	s.clients[sub.cid] = sub
	s.mu.Unlock()
	sub.raw = rawConnOf(nc)
	if sub.raw == nil {
		t.Fatal("no raw socket for a TCP connection")
	}
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
	nc.Close()
	const each = len("MSG foo 1 5\r\nhello\r\n")
	if n := <-got; n != 202*each {
		t.Errorf("peer read %d bytes; want %d (202 messages)", n, 202*each)
	}
}
