package tests

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostilePingsNeverRead runs the daemon binary with a small
// max_pending and a client that sends PINGs and never reads its PONGs. The
// PONGs count against max_pending like messages do, so the client is cut
// as a slow consumer once they pass it (long before the write deadline),
// and the daemon's memory stays bounded.
func TestHostilePingsNeverRead(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "wren.toml", "host = \"127.0.0.1\"\nport = 0\n"+
		"[limits]\nmax_payload = \"64KB\"\nmax_pending = \"256KB\"\nwrite_deadline = \"2m\"\n")
	p := startWren(t, "-c", file)
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096) // the PONGs back up in the daemon, not here
	}
	done := make(chan error, 1)
	go func() {
		pings := bytes.Repeat([]byte("PING\r\n"), 10000)
		if _, err := conn.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")); err != nil {
			done <- err
			return
		}
		// 64 MB of PINGs at most: far more than the 256 KB of PONGs the
		// daemon may hold plus what the sockets buffer.
		for sent := 0; sent < 64<<20; sent += len(pings) {
			conn.SetWriteDeadline(time.Now().Add(testTimeout))
			if _, err := conn.Write(pings); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	p.waitLog("slow consumer: pending bytes over max_pending, closing")
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the daemon took 64 MB of PINGs without closing the connection")
		}
	case <-time.After(testTimeout):
		t.Fatal("the client can still write after the daemon logged it as a slow consumer")
	}
	if rss := procRSS(t, p.cmd.Process.Pid); rss > 64<<20 {
		t.Errorf("daemon RSS %d MB after the slow client; want it bounded by max_pending, well under 64 MB", rss>>20)
	}
	// Everyone else is served.
	nc, err := daemonConnect(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.FlushTimeout(testTimeout); err != nil {
		t.Fatalf("a new client after the cut: %v", err)
	}
}

// procRSS returns a process's resident set size in bytes (Linux).
func procRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the process status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
