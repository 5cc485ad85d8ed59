package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"
)

// floor is what the machine itself costs, measured in the same run as the
// servers: one 16-byte loopback round trip, and one 200-byte append to a
// file followed by fsync, on the file system the stores use. A
// synchronous durable publish cannot beat one of each.
type floor struct {
	RTTp50   time.Duration `json:"rtt_p50_ns"`
	RTTp99   time.Duration `json:"rtt_p99_ns"`
	FsyncP50 time.Duration `json:"fsync_p50_ns"`
	FsyncP99 time.Duration `json:"fsync_p99_ns"`
}

func measureFloor(dir string, n int) (floor, error) {
	var f floor
	rtt, err := measureRTT(n)
	if err != nil {
		return f, err
	}
	fs, err := measureFsync(dir, n)
	if err != nil {
		return f, err
	}
	slices.Sort(rtt)
	slices.Sort(fs)
	f.RTTp50, f.RTTp99 = percentile(rtt, 50), percentile(rtt, 99)
	f.FsyncP50, f.FsyncP99 = percentile(fs, 50), percentile(fs, 99)
	return f, nil
}

func measureRTT(n int) ([]time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 16)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 16)
	out := make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		if _, err := c.Write(buf); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

func measureFsync(dir string, n int) ([]time.Duration, error) {
	f, err := os.CreateTemp(dir, "floor-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rec := make([]byte, 200)
	out := make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		if _, err := f.Write(rec); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

func (f floor) print(w io.Writer) {
	fmt.Fprintf(w, "\nthis machine, same run: loopback round trip p50 %s p99 %s; 200 B append+fsync p50 %s p99 %s\n",
		f.RTTp50.Round(time.Microsecond), f.RTTp99.Round(time.Microsecond),
		f.FsyncP50.Round(time.Microsecond), f.FsyncP99.Round(time.Microsecond))
	fmt.Fprintf(w, "  (a synchronous durable publish needs one of each: >= %s at p50)\n", (f.RTTp50 + f.FsyncP50).Round(time.Microsecond))
}
