package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection: the server's
// side (a *net.TCPConn, as the write loop has) and the peer's.
func tcpPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn), peer
}

// writevAll delivers every byte, in order, through a socket whose buffer
// fills many times over while the peer reads slowly, with more buffers
// than one writev takes and empty ones among them.
func TestWritevAllWaitsForRoom(t *testing.T) {
	c, peer := tcpPair(t)
	c.SetWriteBuffer(8 << 10)
	var bufs [][]byte
	var want []byte
	for i := range 3 * maxIovecs {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%700)
		if i%5 == 0 {
			b = nil
		}
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	got := make(chan []byte)
	go func() {
		var all []byte
		buf := make([]byte, 4<<10)
		for len(all) < len(want) {
			time.Sleep(time.Millisecond) // slower than the writer
			n, err := peer.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	var w writeNow
	if err := w.writevAll(rawConnOf(c), bufs); err != nil {
		t.Fatalf("writevAll: %v", err)
	}
	if all := <-got; !bytes.Equal(all, want) {
		t.Fatalf("peer read %d bytes, not the %d written in order", len(all), len(want))
	}
}

// A peer that never reads makes writevAll fail with the write deadline,
// which the write loop reports as a slow consumer.
func TestWritevAllHonoursDeadline(t *testing.T) {
	c, _ := tcpPair(t)
	c.SetWriteBuffer(8 << 10)
	big := make([]byte, 16<<20)
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	var w writeNow
	err := w.writevAll(rawConnOf(c), [][]byte{big})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("writevAll to a peer that never reads: %v; want the deadline", err)
	}
	if err := w.writevAll(rawConnOf(c), nil); err != nil {
		t.Fatalf("writevAll of nothing: %v", err)
	}
}

// The write loop's writes to a socket with room allocate nothing: the
// iovecs and the call's closure are the connection's, made once.
func TestWritevAllAllocs(t *testing.T) {
	c, peer := tcpPair(t)
	go io.Copy(io.Discard, peer)
	rc := rawConnOf(c)
	bufs := [][]byte{[]byte("MSG a 1 3\r\n"), []byte("abc"), []byte("\r\n")}
	var w writeNow
	if err := w.writevAll(rc, bufs); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(500, func() {
		if err := w.writevAll(rc, bufs); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("writevAll allocates %v times per call; want 0", n)
	}
}
