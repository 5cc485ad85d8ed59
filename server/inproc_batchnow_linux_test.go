package server

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// A batch of deliveries made on a read loop (a consumer's round at the
// end of a read buffer) to an idle TCP client is written by the caller
// itself before DeliverBatchNow returns: no write loop is woken for it.
func TestDeliverBatchNowWritesAtOnce(t *testing.T) {
	{
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

		s.mu.Lock()
		s.nextCID++
		sub := newClient(s, nc, s.nextCID, kindClient)
		s.clients[sub.cid] = sub
		s.mu.Unlock()
		sub.raw = rawConnOf(nc)
		send(t, sub, "SUB _INBOX.f 1\r\n")
		ip := s.InProc("consumer")
		batch := func(deliver func(route, subject, reply string, header, data []byte) error) {
			for range 3 {
				if err := deliver("_INBOX.f", "orders.1", "$JS.ACK.S.C.1.1.1.0.0", nil, []byte("hi")); err != nil {
					t.Fatal(err)
				}
			}
		}
		ip.DeliverBatchNow(batch)
		sub.mu.Lock()
		pending, writing := sub.out.pending(), sub.out.writing.Load()
		sub.mu.Unlock()
		if pending != 0 || writing {
			t.Fatalf("after DeliverBatchNow %d bytes wait for a write loop (running: %v); want them written", pending, writing)
		}
		{
			r := bufio.NewReader(peer)
			peer.SetReadDeadline(time.Now().Add(10 * time.Second))
			for _, want := range []string{"MSG orders.1 1 $JS.ACK.S.C.1.1.1.0.0 2\r\n", "hi\r\n", "MSG orders.1 1 $JS.ACK.S.C.1.1.1.0.0 2\r\n"} {
				line, err := r.ReadString('\n')
				if err != nil || line != want {
					t.Fatalf("peer read %q (%v); want %q", line, err, want)
				}
			}
		}
		ip.Close()
	}
}
