package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverKind is one of the two servers under comparison: how to start it
// and what it is called in the report.
type serverKind struct {
	name string
	bin  string
	// args returns the command line for a server on port; storeDir is
	// empty unless the scenario needs a stream store. With fsyncAll the
	// server must fsync every stored message before its PubAck.
	args func(port int, storeDir string, fsyncAll bool) ([]string, error)
}

func wrenKind(bin string) serverKind {
	return serverKind{
		name: "wren",
		bin:  bin,
		args: func(port int, storeDir string, _ bool) ([]string, error) {
			// Wren's default fsyncs every write before its PubAck.
			a := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port)}
			if storeDir != "" {
				a = append(a, "-sd", storeDir)
			}
			return a, nil
		},
	}
}

func natsKind(bin string) serverKind {
	return serverKind{
		name: "nats-server",
		bin:  bin,
		args: func(port int, storeDir string, fsyncAll bool) ([]string, error) {
			a := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port)}
			if storeDir != "" && fsyncAll {
				// The reference server fsyncs every write only when told.
				conf := storeDir + ".conf"
				body := fmt.Sprintf("jetstream {\n  store_dir: %q\n  sync_interval: always\n}\n", storeDir)
				if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
					return nil, err
				}
				return append(a, "-c", conf), nil
			}
			if storeDir != "" {
				a = append(a, "-js", "-sd", storeDir)
			}
			return a, nil
		},
	}
}

// child is one running server process.
type child struct {
	kind     serverKind
	cmd      *exec.Cmd
	port     int
	url      string
	logPath  string
	storeDir string
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once

	memMu    sync.Mutex
	hwm      int64 // VmHWM at the last sample, bytes
	peakAnon int64 // highest RssAnon sampled, bytes
}

// children tracks every live child so that an interrupt can stop them all.
var children struct {
	sync.Mutex
	set map[*child]struct{}
}

func track(c *child) {
	children.Lock()
	defer children.Unlock()
	if children.set == nil {
		children.set = make(map[*child]struct{})
	}
	children.set[c] = struct{}{}
}

func untrack(c *child) {
	children.Lock()
	defer children.Unlock()
	delete(children.set, c)
}

// stopAll stops every child still running.
func stopAll() {
	children.Lock()
	list := make([]*child, 0, len(children.set))
	for c := range children.set {
		list = append(list, c)
	}
	children.Unlock()
	for _, c := range list {
		c.stop()
	}
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

// startServer starts a server of kind k on a free loopback port and waits
// until it accepts connections. workDir holds its log and, when withStore
// is set, a fresh store directory.
func startServer(ctx context.Context, k serverKind, workDir string, withStore, fsyncAll bool) (*child, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := startOnce(ctx, k, workDir, withStore, fsyncAll)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startOnce(ctx context.Context, k serverKind, workDir string, withStore, fsyncAll bool) (*child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(workDir, k.name+"-")
	if err != nil {
		return nil, err
	}
	c := &child{
		kind:    k,
		port:    port,
		url:     fmt.Sprintf("nats://127.0.0.1:%d", port),
		logPath: filepath.Join(dir, "server.log"),
		exited:  make(chan struct{}),
	}
	if withStore {
		c.storeDir = filepath.Join(dir, "store")
		if err := os.MkdirAll(c.storeDir, 0o755); err != nil {
			return nil, err
		}
	}
	logf, err := os.Create(c.logPath)
	if err != nil {
		return nil, err
	}
	args, err := k.args(port, c.storeDir, fsyncAll)
	if err != nil {
		logf.Close()
		return nil, err
	}
	c.cmd = exec.Command(k.bin, args...)
	c.cmd.Stdout = logf
	c.cmd.Stderr = logf
	c.cmd.SysProcAttr = sysProcAttr()
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", k.name, err)
	}
	track(c)
	go func() {
		c.waitErr = c.cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	if err := c.waitReady(ctx, 15*time.Second); err != nil {
		c.stop()
		return nil, fmt.Errorf("%s on port %d: %w%s", k.name, port, err, c.logTail())
	}
	return c, nil
}

// waitReady dials the port until the server accepts and sends its INFO.
func (c *child) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("exited before accepting: %v", c.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if rerr == nil && strings.HasPrefix(line, "INFO ") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting after %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop asks the server to exit (SIGTERM), and kills it if it has not
// within a few seconds. Its store directory is removed.
func (c *child) stop() {
	c.stopOnce.Do(func() {
		defer untrack(c)
		select {
		case <-c.exited:
		default:
			c.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.exited:
			case <-time.After(5 * time.Second):
				c.cmd.Process.Kill()
				<-c.exited
			}
		}
		if c.storeDir != "" {
			os.RemoveAll(c.storeDir)
		}
	})
}

// logTail returns the end of the server's log, for error messages.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n--- " + c.kind.name + " log ---\n" + string(b)
}

// procUsage is what /proc tells about a process.
type procUsage struct {
	peakRSS  int64         // VmHWM, bytes
	peakAnon int64         // highest RssAnon sampled, bytes
	cpu      time.Duration // user + system time
	schedIns int64         // times one of its threads was scheduled in
}

// usage reads the server's peak resident set size, the highest private
// memory (RssAnon) sampled so far, and its CPU time so far. On systems
// without /proc it returns zeros.
func (c *child) usage() procUsage {
	hwm, anon := c.sampleMem()
	pid := c.cmd.Process.Pid
	_, ins, _ := schedTotals(pid)
	return procUsage{peakRSS: hwm, peakAnon: anon, cpu: cpuTime(pid), schedIns: ins}
}

// sampleMem reads VmHWM and RssAnon from /proc/<pid>/status, keeps the
// highest RssAnon seen, and returns VmHWM and that peak. The kernel keeps
// the high-water mark of the whole RSS but not of its anonymous part, so
// watchMem samples it while a scenario runs.
func (c *child) sampleMem() (hwm, peakAnon int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	c.memMu.Lock()
	defer c.memMu.Unlock()
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				hwm = statusKB(rest)
				c.hwm = max(c.hwm, hwm)
			} else if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
				c.peakAnon = max(c.peakAnon, statusKB(rest))
			}
		}
	}
	return c.hwm, c.peakAnon
}

// statusKB parses a "  1234 kB" value of /proc/<pid>/status into bytes.
func statusKB(v string) int64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(f[0], 10, 64)
	return kb << 10
}

// memSampleEvery is how often watchMem reads the server's RssAnon.
const memSampleEvery = 20 * time.Millisecond

// watchMem samples the server's memory until stop is closed or the server
// exits.
func (c *child) watchMem(stop <-chan struct{}) {
	t := time.NewTicker(memSampleEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.exited:
			return
		case <-t.C:
			c.sampleMem()
		}
	}
}

// cpuTime is the process's CPU time: the sum of its threads' on-CPU
// nanoseconds from schedstat, or, where that is missing, utime+stime from
// stat in clock ticks.
func cpuTime(pid int) time.Duration {
	if cpu, _, ok := schedTotals(pid); ok {
		return cpu
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces; fields start after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after the
	// name.
	if len(f) <= 12 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// schedTotals sums the schedstat of the process's threads: their on-CPU
// time, and how many times the kernel scheduled one of them in (every
// wake-up from a sleep or a wait, and every return after preemption:
// what context switches cost). Threads that have exited are no longer
// counted; Go's threads seldom exit. ok is false without schedstat.
func schedTotals(pid int) (cpu time.Duration, ins int64, ok bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, 0, false
	}
	var ns int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			return 0, 0, false
		}
		run, n, good := parseSchedstat(string(b))
		if !good {
			return 0, 0, false
		}
		ns += run
		ins += n
	}
	return time.Duration(ns), ins, ns > 0
}

// parseSchedstat reads a thread's schedstat line: nanoseconds on the CPU,
// nanoseconds waiting to run, and the number of times it was scheduled in.
func parseSchedstat(line string) (runNS, ins int64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return 0, 0, false
	}
	runNS, err1 := strconv.ParseInt(f[0], 10, 64)
	ins, err2 := strconv.ParseInt(f[2], 10, 64)
	return runNS, ins, err1 == nil && err2 == nil
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc.
const clockTicks = 100

// perfRecorder samples one child with `perf record` while a workload runs.
type perfRecorder struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startPerf attaches perf to the child, writing to out. It returns nil if
// perf could not start (the reason is printed).
func startPerf(c *child, out string) *perfRecorder {
	cmd := exec.Command("perf", "record", "-g", "-F", "999", "-p", strconv.Itoa(c.cmd.Process.Pid), "-o", out)
	cmd.Stdout = nil
	cmd.Stderr = nil
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		return nil
	}
	p := &perfRecorder{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	// Give perf a moment to attach before the load starts.
	time.Sleep(300 * time.Millisecond)
	return p
}

// stop ends the recording and waits for perf to write its file.
func (p *perfRecorder) stop() {
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// findRepoRoot walks up from the working directory to Wren's go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/wrenmq/wren\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the wren repository; pass --wren")
		}
		dir = parent
	}
}

// buildWren compiles cmd/wren from the repository into dir the way the
// release build does (go run ./cross build): static, without cgo, paths
// trimmed, symbols and DWARF stripped. A plain go build links glibc
// dynamically, and its mapped pages would count in the daemon's RSS.
func buildWren(ctx context.Context, dir string) (string, error) {
	root, err := findRepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "wren")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w", "-o", out, "./cmd/wren")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/wren: %v\n%s", err, b)
	}
	return out, nil
}

// findNatsServer looks for nats-server on PATH, then in GOPATH/bin.
func findNatsServer() (string, error) {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if b, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(b))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "nats-server")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("nats-server not found on PATH or in GOPATH/bin " +
		"(go install github.com/nats-io/nats-server/v2@v2.15.2, or pass --nats-server)")
}

// binVersion runs the binary with a version argument and returns the first
// line it prints.
func binVersion(bin string, arg string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, bin, arg).CombinedOutput()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
