package tests

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDaemonReturnsMemoryAfterSpike runs the daemon binary through a
// subscription spike: one connection subscribes to 200,000 wildcard
// subjects, which grows the daemon's RSS by tens of MB, then closes. The
// daemon gives most of that back to the OS within seconds instead of
// keeping it.
func TestDaemonReturnsMemoryAfterSpike(t *testing.T) {
	dir := t.TempDir()
	p := startWren(t, "-c", writeFile(t, dir, "wren.toml", "host = \"127.0.0.1\"\nport = 0\n"))
	pid := p.cmd.Process.Pid
	idle := procRSS(t, pid)

	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	w.WriteString("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
	const n = 200_000
	for i := range n {
		w.WriteString("SUB spike.devices." + strconv.Itoa(i) + ".telemetry.* " + strconv.Itoa(i+1) + "\r\n")
	}
	w.WriteString("PING\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "PONG\r\n" {
		t.Fatalf("after %d SUBs: %q, %v", n, line, err)
	}
	peak := procRSS(t, pid)
	if peak-idle < 32<<20 {
		t.Fatalf("RSS grew only from %d to %d MB with %d subscriptions; the spike is too small to tell", idle>>20, peak>>20, n)
	}
	conn.Close()
	want := idle + (peak-idle)/2
	waitUntil(t, func() error {
		if rss := procRSS(t, pid); rss > want {
			return fmt.Errorf("RSS %d MB after the spike (idle %d MB, peak %d MB); want at most %d MB", rss>>20, idle>>20, peak>>20, want>>20)
		}
		return nil
	})
}

// TestDaemonReturnsMemoryAfterSlowReader runs the daemon binary through a
// spike that closes no connection: 48 MB of messages buffered for a
// subscriber that reads nothing until they are all published, then reads
// them all and stays connected. The daemon gives most of that back to the
// OS within seconds.
func TestDaemonReturnsMemoryAfterSlowReader(t *testing.T) {
	dir := t.TempDir()
	p := startWren(t, "-c", writeFile(t, dir, "wren.toml", "host = \"127.0.0.1\"\nport = 0\n"))
	pid := p.cmd.Process.Pid
	nc, err := daemonConnect(t, p)
	if err != nil {
		t.Fatal(err)
	}
	idle := procRSS(t, pid)
	var peak int64
	sub := slowReaderBurst(t, p.url, nc, func() { peak = procRSS(t, pid) })
	defer sub.Close()
	if peak-idle < 32<<20 {
		t.Fatalf("RSS grew only from %d to %d MB with 48 MB buffered; the spike is too small to tell", idle>>20, peak>>20)
	}
	want := idle + (peak-idle)/2
	waitUntil(t, func() error {
		if rss := procRSS(t, pid); rss > want {
			return fmt.Errorf("RSS %d MB after the spike (idle %d MB, peak %d MB); want at most %d MB", rss>>20, idle>>20, peak>>20, want>>20)
		}
		return nil
	})
}
