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
	sub, peer := idleTCPClient(t, s)
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
	requireWrittenAtOnce(t, sub, "PublishBatch")
	expectLines(t, peer, "MSG _INBOX.a.1 1 22\r\n", `{"stream":"S","seq":1}`+"\r\n", "MSG _INBOX.a.2 1 22\r\n")
}

// idleTCPClient registers a client of s on one end of a real loopback TCP
// connection, with its raw socket as the read loop would have it, and
// returns it with the other end.
func idleTCPClient(t *testing.T, s *Server) (*client, net.Conn) {
	t.Helper()
	nc, peer := tcpPair(t)
	s.mu.Lock()
	s.nextCID++
	c := newClient(s, nc, s.nextCID, kindClient)
	s.clients[c.cid] = c
	s.mu.Unlock()
	c.raw = rawConnOf(nc)
	return c, peer
}

// requireWrittenAtOnce fails unless nothing of c's output waits for a
// write loop after the call named what.
func requireWrittenAtOnce(t *testing.T, c *client, what string) {
	t.Helper()
	c.mu.Lock()
	pending, writing := c.out.pending(), c.out.writing.Load()
	c.mu.Unlock()
	if pending != 0 || writing {
		t.Fatalf("after %s %d bytes wait for a write loop (running: %v); want them written", what, pending, writing)
	}
}

// expectLines reads the lines want, in order, from peer.
func expectLines(t *testing.T, peer net.Conn, want ...string) {
	t.Helper()
	r := bufio.NewReader(peer)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, w := range want {
		line, err := r.ReadString('\n')
		if err != nil || line != w {
			t.Fatalf("peer read %q (%v); want %q", line, err, w)
		}
	}
}
