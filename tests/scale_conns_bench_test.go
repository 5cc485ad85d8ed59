package tests

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkScaleConnectionSpike runs the Wren daemon and nats-server as
// processes, alternately, and gives each a load spike: 10,000 connections
// with 10 subscriptions each (100,000, nine of them wildcards), a message
// every connection must receive, then every connection closes. It reports
// each server's RSS idle, at the peak, and 10 s after the connections
// closed (what it gave back to the OS):
//
//	go test ./tests -run '^$' -bench ScaleConnectionSpike -benchtime 1x
//
// nats-server is looked up on PATH, then in $(go env GOPATH)/bin.
func BenchmarkScaleConnectionSpike(b *testing.B) {
	nats := natsServerPath(b)
	servers := []struct {
		name string
		bin  string
	}{{"wren", wrenPath(b)}, {"nats-server", nats}}
	rss := map[string]*[3]float64{}
	rounds := 0
	for b.Loop() {
		rounds++
		for _, sv := range servers {
			r := spike(b, sv.bin, 10_000, 10)
			if rss[sv.name] == nil {
				rss[sv.name] = &[3]float64{}
			}
			for i := range r {
				rss[sv.name][i] += r[i]
			}
		}
	}
	for _, sv := range servers {
		r := rss[sv.name]
		b.ReportMetric(r[0]/float64(rounds), sv.name+"-idle-MB")
		b.ReportMetric(r[1]/float64(rounds), sv.name+"-peak-MB")
		b.ReportMetric(r[2]/float64(rounds), sv.name+"-after-MB")
	}
}

func natsServerPath(b *testing.B) string {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "nats-server")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	b.Skip("nats-server not found: go install github.com/nats-io/nats-server/v2@v2.15.2")
	return ""
}

// spike runs one server binary through the spike and returns its RSS in
// MB: idle, at the peak, and 10 s after the connections closed.
func spike(b *testing.B, bin string, conns, subsPer int) [3]float64 {
	b.StopTimer()
	defer b.StartTimer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	for deadline := time.Now().Add(testTimeout); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s does not listen: %v", bin, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mb := func() float64 { return float64(procRSS(b, cmd.Process.Pid)) / (1 << 20) }
	time.Sleep(time.Second)
	var out [3]float64
	out[0] = mb()

	open := make([]net.Conn, conns)
	readers := make([]*bufio.Reader, conns)
	parallel(conns, func(i int) error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		open[i] = c
		r := bufio.NewReader(c)
		readers[i] = r
		c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := r.ReadString('\n'); err != nil {
			return err
		}
		var sb strings.Builder
		sb.WriteString("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB fan.> 1\r\n")
		for k := 1; k < subsPer; k++ {
			fmt.Fprintf(&sb, "SUB s.%d.%d.* %d\r\n", i, k, k+1)
		}
		sb.WriteString("PING\r\n")
		if _, err := c.Write([]byte(sb.String())); err != nil {
			return err
		}
		for {
			line, err := r.ReadString('\n')
			switch {
			case err != nil:
				return fmt.Errorf("conn %d: %v", i, err)
			case line == "PING\r\n":
				c.Write([]byte("PONG\r\n"))
			case line == "PONG\r\n":
				return nil
			default:
				return fmt.Errorf("conn %d: %q; want PONG", i, line)
			}
		}
	})
	pub, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	pub.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPUB fan.all 2\r\nhi\r\n"))
	parallel(conns, func(i int) error {
		open[i].SetReadDeadline(time.Now().Add(time.Minute))
		for {
			line, err := readers[i].ReadString('\n')
			switch {
			case err != nil:
				return fmt.Errorf("conn %d: %v; want the fan-out message", i, err)
			case line == "PING\r\n": // nats-server measures the round trip
				open[i].Write([]byte("PONG\r\n"))
			case strings.HasPrefix(line, "MSG fan.all 1 2"):
				return nil
			default:
				return fmt.Errorf("conn %d got %q; want the fan-out message", i, line)
			}
		}
	})
	pub.Close()
	out[1] = mb()
	for _, c := range open {
		c.Close()
	}
	time.Sleep(10 * time.Second)
	out[2] = mb()
	return out
}

// parallel runs fn for 0..n-1 on 32 workers and fails on the first error.
func parallel(n int, fn func(i int) error) {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		panic(first)
	}
}
