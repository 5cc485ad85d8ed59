package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// memStatus is what /proc/<pid>/status says about a process's memory, in
// bytes.
type memStatus struct {
	RSS, HWM int64 // VmRSS and VmHWM (peak RSS)
	Anon     int64 // RssAnon: heap, stacks; the rest of RSS is the mapped binary
}

func readMemStatus(pid int) (memStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	defer f.Close()
	return parseMemStatus(f)
}

// parseMemStatus reads the VmRSS and VmHWM lines ("VmRSS:   5120 kB").
func parseMemStatus(r io.Reader) (memStatus, error) {
	var m memStatus
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM" && k != "RssAnon") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", k, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("unexpected %s line %q", k, sc.Text())
		}
		switch k {
		case "VmRSS":
			m.RSS = n << 10
			seen++
		case "VmHWM":
			m.HWM = n << 10
			seen++
		case "RssAnon":
			m.Anon = n << 10
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if seen != 2 {
		return m, errors.New("no VmRSS/VmHWM in status (kernel thread or exited?)")
	}
	return m, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// daemon is a server process under test, with its output kept for error
// reports.
type daemon struct {
	cmd  *exec.Cmd
	addr string
	out  *lockedBuffer
	done chan struct{}
	err  error // the process's exit, once done is closed
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil // enough to explain a failure
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon runs argv, which listens on addr, and waits until addr
// accepts connections.
func startDaemon(argv []string, addr string, env []string, timeout time.Duration) (*daemon, error) {
	d := &daemon{addr: addr, out: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Stdout = d.out
	d.cmd.Stderr = d.out
	d.cmd.Env = append(os.Environ(), env...)
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return d, nil
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("%s exited before listening: %v\n%s", argv[0], d.err, d.out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.kill()
			return nil, fmt.Errorf("%s not listening on %s after %s\n%s", argv[0], addr, timeout, d.out)
		}
	}
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(timeout time.Duration) error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-d.done:
		if d.err != nil {
			return fmt.Errorf("exit after SIGTERM: %v\n%s", d.err, d.out)
		}
		return nil
	case <-time.After(timeout):
		d.kill()
		return fmt.Errorf("still running %s after SIGTERM\n%s", timeout, d.out)
	}
}

// kill ends the process now and waits for it.
func (d *daemon) kill() {
	d.cmd.Process.Kill()
	<-d.done
}
