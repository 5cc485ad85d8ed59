package tests

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkMemorySpikes runs the Wren daemon and nats-server as processes,
// alternately, with JetStream on, through load spikes that close no
// connection, and reports each server's RSS just before the spike, at its
// end, and 10 s later (what it gave back to the OS):
//
//   - slow: 48 MB of 1 KB messages published to a subscriber that reads
//     nothing until the publisher is done, then reads them all and stays;
//
//   - read: a 50 MB stream (100,000 messages of 512 B) read through by
//     an ordered consumer;
//
//   - api: 16 connections each firing 1,000 message gets of 4 KB messages
//     at once, without waiting for the answers.
//
//     go test ./tests -run '^$' -bench MemorySpikes -benchtime 1x
func BenchmarkMemorySpikes(b *testing.B) {
	natsBin := natsServerPath(b)
	for _, kind := range []struct {
		name  string
		setup func(b *testing.B, nc *nats.Conn, js jetstream.JetStream)
		spike func(b *testing.B, url string, nc *nats.Conn, js jetstream.JetStream)
	}{
		{"slow", nil, spikeSlowReader},
		{"read", fillReadStream, spikeStreamRead},
		{"api", fillAPIStream, spikeAPIBurst},
	} {
		b.Run(kind.name, func(b *testing.B) {
			for b.Loop() {
				for _, sv := range []struct{ name, bin string }{{"wren", wrenPath(b)}, {"nats-server", natsBin}} {
					r := runSpike(b, sv.bin, kind.setup, kind.spike)
					b.ReportMetric(r[0], sv.name+"-before-MB")
					b.ReportMetric(r[1], sv.name+"-end-MB")
					b.ReportMetric(r[2], sv.name+"-after10s-MB")
				}
			}
		})
	}
}

// runSpike starts bin with JetStream in a temporary directory, runs setup
// and then spike, and returns its RSS in MB before the spike, at its end
// and 10 s later.
func runSpike(b *testing.B, bin string, setup func(*testing.B, *nats.Conn, jetstream.JetStream), spike func(*testing.B, string, *nats.Conn, jetstream.JetStream)) [3]float64 {
	b.StopTimer()
	defer b.StartTimer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var nc *nats.Conn
	for deadline := time.Now().Add(testTimeout); ; {
		if nc, err = nats.Connect(url, nats.Timeout(testTimeout)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s does not listen: %v", bin, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if setup != nil {
		setup(b, nc, js)
	}
	mb := func() float64 { return float64(procRSS(b, cmd.Process.Pid)) / (1 << 20) }
	time.Sleep(time.Second)
	var out [3]float64
	out[0] = mb()
	spike(b, url, nc, js)
	out[1] = mb()
	time.Sleep(10 * time.Second)
	out[2] = mb()
	return out
}

func spikeSlowReader(b *testing.B, url string, nc *nats.Conn, _ jetstream.JetStream) {
	c := slowReaderBurst(b, url, nc, nil)
	// The subscriber stays connected through the measurement.
	b.Cleanup(func() { c.Close() })
}

// slowReaderBurst subscribes a raw connection to slow.x, publishes 48 MB
// of 1 KB messages to it through nc while it reads nothing, calls atPeak
// (if not nil) once they are published, then reads them all. It returns
// the subscriber's connection, still open, draining whatever else comes.
func slowReaderBurst(tb testing.TB, url string, nc *nats.Conn, atPeak func()) net.Conn {
	tb.Helper()
	const msgs, size = 48 << 10, 1 << 10
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "nats://"))
	if err != nil {
		tb.Fatal(err)
	}
	r := bufio.NewReaderSize(c, 64<<10)
	c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := r.ReadString('\n'); err != nil {
		tb.Fatal(err)
	}
	c.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB slow.x 1\r\nPING\r\n"))
	if line, err := r.ReadString('\n'); err != nil || line != "PONG\r\n" {
		tb.Fatalf("subscriber: %q %v", line, err)
	}
	payload := make([]byte, size)
	for range msgs {
		if err := nc.Publish("slow.x", payload); err != nil {
			tb.Fatal(err)
		}
	}
	if err := nc.FlushTimeout(time.Minute); err != nil {
		tb.Fatal(err)
	}
	if atPeak != nil {
		atPeak()
	}
	got := 0
	for got < msgs {
		line, err := r.ReadString('\n')
		if err != nil {
			tb.Fatalf("subscriber after %d messages: %v", got, err)
		}
		switch {
		case line == "PING\r\n":
			c.Write([]byte("PONG\r\n"))
		case strings.HasPrefix(line, "MSG "):
			if _, err := r.Discard(size + 2); err != nil {
				tb.Fatal(err)
			}
			got++
		}
	}
	c.SetDeadline(time.Time{})
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "PING\r\n" {
				c.Write([]byte("PONG\r\n"))
			}
		}
	}()
	return c
}

func fillReadStream(b *testing.B, _ *nats.Conn, js jetstream.JetStream) {
	fillStream(b, js, "READ", 100_000, 512)
}

func fillAPIStream(b *testing.B, _ *nats.Conn, js jetstream.JetStream) {
	fillStream(b, js, "API", 1000, 4<<10)
}

func fillStream(b *testing.B, js jetstream.JetStream, name string, n, size int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}, AllowDirect: true}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	subj := strings.ToLower(name) + ".x"
	for i := 0; i < n; i += 1000 {
		for k := i; k < min(i+1000, n); k++ {
			if _, err := js.PublishAsync(subj, payload); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-ctx.Done():
			b.Fatal("stream fill timed out")
		}
	}
}

func spikeStreamRead(b *testing.B, _ string, _ *nats.Conn, js jetstream.JetStream) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, "READ", jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	it, err := c.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	for got := 0; got < 100_000; got++ {
		if _, err := it.Next(); err != nil {
			b.Fatalf("after %d messages: %v", got, err)
		}
	}
}

func spikeAPIBurst(b *testing.B, url string, _ *nats.Conn, _ jetstream.JetStream) {
	const conns, per = 16, 1000
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := nats.Connect(url)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			inbox := nats.NewInbox()
			answered := make(chan struct{}, per)
			sub, err := nc.Subscribe(inbox, func(*nats.Msg) { answered <- struct{}{} })
			if err != nil {
				errs <- err
				return
			}
			sub.SetPendingLimits(-1, -1)
			for k := range per {
				body := []byte(`{"seq":` + strconv.Itoa(1+(i*per+k)%1000) + `}`)
				nc.PublishRequest("$JS.API.STREAM.MSG.GET.API", inbox, body)
			}
			nc.Flush()
			timeout := time.After(time.Minute)
			for range per {
				select {
				case <-answered:
				case <-timeout:
					errs <- fmt.Errorf("conn %d: not every request answered", i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
