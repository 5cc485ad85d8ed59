package server

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// A batch of in-process publishes (a stream's PubAcks for one group
// commit) to an idle TCP client is written by the publishing goroutine
// itself, in one writev, before PublishBatch returns: no write loop is
// woken for it.
func TestPublishBatchWritesAtOnce(t *testing.T) {
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
	send(t, sub, "SUB _INBOX.a.* 1\r\n")
	ip := s.InProc("stream")
	defer ip.Close()
	ip.PublishBatch(func(publish func(subject, reply string, header, data []byte) error) {
		for _, r := range []string{"_INBOX.a.1", "_INBOX.a.2", "_INBOX.a.3"} {
			if err := publish(r, "", nil, []byte(`{"stream":"S","seq":1}`)); err != nil {
				t.Fatal(err)
			}
		}
	})
	sub.mu.Lock()
	pending, writing := sub.out.pending(), sub.out.writing.Load()
	sub.mu.Unlock()
	if pending != 0 || writing {
		t.Fatalf("after PublishBatch %d bytes wait for a write loop (running: %v); want them written", pending, writing)
	}
	r := bufio.NewReader(peer)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, want := range []string{"MSG _INBOX.a.1 1 22\r\n", `{"stream":"S","seq":1}` + "\r\n", "MSG _INBOX.a.2 1 22\r\n"} {
		line, err := r.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("peer read %q (%v); want %q", line, err, want)
		}
	}
}
