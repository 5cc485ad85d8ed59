//go:build linux

package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The floor benchmarks measure, on this machine, what the bytes of a
// message cost before any broker logic: the physical limit the server's
// CPU per message and latencies are compared with.
//
//	go test ./tests/loadgen -run '^$' -bench Floor -count 5
//
// relay-16 and relay-1k: one goroutine moves messages from one loopback
// socket to another as a broker must at the least (read a big buffer, one
// user-space copy of each message, one write of what was copied), and
// reports its own thread's CPU time per message (relay-cpu-ns/msg).
// loopback-rtt: one 16-byte round trip between two sockets. fsync: a
// 200-byte append to a file followed by fdatasync, as a durable PubAck
// needs at the least.
func BenchmarkFloor(b *testing.B) {
	b.Run("relay-16", func(b *testing.B) { benchRelay(b, 16) })
	b.Run("relay-1k", func(b *testing.B) { benchRelay(b, 1024) })
	b.Run("loopback-rtt", benchRTT)
	b.Run("fsync", benchFsync)
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(b *testing.B) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- nil
			return
		}
		acc <- c
	}()
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c2 := <-acc
	if c2 == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { c1.Close(); c2.Close() })
	return c1, c2
}

// threadCPU is the calling thread's CPU time (user + system).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchRelay(b *testing.B, size int) {
	inW, inR := tcpPair(b)
	outW, outR := tcpPair(b)
	total := int64(b.N) * int64(size)
	// Producer: the publisher's bytes, in 64 KiB writes.
	go func() {
		buf := make([]byte, 64<<10)
		for left := total; left > 0; {
			n := min(int64(len(buf)), left)
			if _, err := inW.Write(buf[:n]); err != nil {
				return
			}
			left -= n
		}
	}()
	// Consumer: the subscriber reading all of it.
	done := make(chan struct{})
	go func() {
		io.CopyN(io.Discard, outR, total)
		close(done)
	}()
	b.SetBytes(int64(size))
	b.ResetTimer()
	runtime.LockOSThread()
	cpu0 := threadCPU()
	in := make([]byte, 256<<10)
	out := make([]byte, 0, 256<<10)
	var moved int64
	for moved < total {
		n, err := inR.Read(in)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out[:0], in[:n]...) // the one user-space copy
		if _, err := outW.Write(out); err != nil {
			b.Fatal(err)
		}
		moved += int64(n)
	}
	cpu := threadCPU() - cpu0
	runtime.UnlockOSThread()
	<-done
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "relay-cpu-ns/msg")
}

func benchRTT(b *testing.B) {
	c1, c2 := tcpPair(b)
	go func() {
		buf := make([]byte, 16)
		for {
			if _, err := io.ReadFull(c2, buf); err != nil {
				return
			}
			if _, err := c2.Write(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c1.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c1, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
}
