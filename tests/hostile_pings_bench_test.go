package tests

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkPingsNeverRead runs the Wren daemon and nats-server as
// processes, with their default limits (max_pending 64 MB), against a client
// that sends PINGs for 20 s and never reads. It reports each server's peak
// RSS (VmHWM) and whether the client was cut before the 20 s were up:
//
//	go test ./tests -run '^$' -bench PingsNeverRead -benchtime 1x
func BenchmarkPingsNeverRead(b *testing.B) {
	servers := []struct{ name, bin string }{{"wren", wrenPath(b)}, {"nats-server", natsServerPath(b)}}
	for b.Loop() {
		for _, sv := range servers {
			peak, cut := pingFlood(b, sv.bin, 20*time.Second)
			b.ReportMetric(float64(peak)/(1<<20), sv.name+"-peak-MB")
			b.ReportMetric(cut.Seconds(), sv.name+"-cut-s")
		}
	}
}

// pingFlood returns the server's peak RSS and how long it took to close
// the flooding client (the whole duration if it never did).
func pingFlood(b *testing.B, bin string, d time.Duration) (int64, time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", port)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var conn net.Conn
	for deadline := time.Now().Add(testTimeout); ; time.Sleep(10 * time.Millisecond) {
		if conn, err = net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal(err)
		}
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	pings := bytes.Repeat([]byte("PING\r\n"), 10000)
	conn.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"))
	start := time.Now()
	cut := d
	for time.Since(start) < d {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(pings); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue // the server reads no faster: keep pressing
			}
			cut = time.Since(start)
			break
		}
	}
	return peakRSS(b, cmd.Process.Pid), cut
}

// peakRSS returns a process's peak resident set size (VmHWM) in bytes.
func peakRSS(b testing.TB, pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}
