package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type smokeOpts struct {
	targets string
	dir     string
	version string
	timeout time.Duration
}

// smokeResult is one line of the smoke report.
type smokeResult struct {
	target  string
	runner  string // how it ran: "qemu-arm-static -cpu arm1176" or "native"
	want    string // "pass" or "refuse"
	err     error
	note    string
	elapsed time.Duration
}

func runSmoke(args []string, w io.Writer) error {
	var o smokeOpts
	fs := flag.NewFlagSet("cross smoke", flag.ContinueOnError)
	fs.StringVar(&o.targets, "targets", "smoke", `comma-separated targets, "all" or "smoke"`)
	fs.StringVar(&o.dir, "dir", "dist", "where the built binaries are, relative to the repository root")
	fs.StringVar(&o.version, "version", "", "version in the binaries' names (default: server.Version)")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "limit for each target's run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, ts, err := prepare(o.targets, &o.version)
	if err != nil {
		return err
	}
	dir := o.dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	var results []smokeResult
	for _, t := range ts {
		if t.qemu == "" {
			fmt.Fprintf(w, "skip %s: no emulator for it\n", t.name)
			continue
		}
		bin := filepath.Join(dir, t.file(o.version))
		r := smokeResult{target: t.name, want: "pass"}
		start := time.Now()
		r.runner, r.note, r.err = smokeTarget(t, bin, t.cpu, o.timeout, w)
		r.elapsed = time.Since(start)
		results = append(results, r)
		for _, wc := range wrongCPU {
			if wc.target != t.name {
				continue
			}
			r := smokeResult{target: t.name, want: "refuse"}
			start := time.Now()
			r.runner, r.note, r.err = refuseOnCPU(t, bin, wc.cpu)
			r.elapsed = time.Since(start)
			results = append(results, r)
		}
	}
	return reportSmoke(w, results)
}

func reportSmoke(w io.Writer, results []smokeResult) error {
	fmt.Fprintf(w, "\n| target | run with | expect | result | time | note |\n| --- | --- | --- | --- | ---: | --- |\n")
	var failed []string
	for _, r := range results {
		res := "ok"
		if r.err != nil {
			res = "FAIL"
			failed = append(failed, r.target+" ("+r.want+")")
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.1fs | %s |\n", r.target, r.runner, r.want, res, r.elapsed.Seconds(), r.note)
	}
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(w, "\n%s (%s, %s):\n%v\n", r.target, r.want, r.runner, r.err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("smoke failed: %s", strings.Join(failed, ", "))
	}
	fmt.Fprintf(w, "%d passed, 0 failed\n", len(results))
	return nil
}

// runner returns the command prefix that runs t's binaries here.
func runner(t target, cpu string) ([]string, string, error) {
	if t.qemu == "-" {
		if runtime.GOOS != t.goos || runtime.GOARCH != t.goarch {
			return nil, "", fmt.Errorf("%s runs natively only on %s/%s", t.name, t.goos, t.goarch)
		}
		return nil, "native", nil
	}
	q, err := exec.LookPath(t.qemu)
	if err != nil {
		return nil, t.qemu, fmt.Errorf("%s not found: install Debian's qemu-user-static (.ci/cross does)", t.qemu)
	}
	return []string{q, "-cpu", cpu}, t.qemu + " -cpu " + cpu, nil
}

// smokeTarget runs one binary through the smoke scenario: version, start
// with a store dir, core pub/sub, stream publish, SIGTERM, restart, and the
// stored message read back.
func smokeTarget(t target, bin, cpu string, timeout time.Duration, w io.Writer) (string, string, error) {
	prefix, how, err := runner(t, cpu)
	if err != nil {
		return how, "", err
	}
	if _, err := os.Stat(bin); err != nil {
		return how, "", fmt.Errorf("%v (run: go run ./cross build -targets %s)", err, t.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	fmt.Fprintf(w, "smoke %s under %s\n", t.name, how)

	vctx, vcancel := context.WithTimeout(ctx, time.Minute)
	defer vcancel()
	va := prefix0(prefix, bin, "--version")
	vout, err := exec.CommandContext(vctx, va[0], va[1:]...).CombinedOutput()
	if err != nil {
		return how, "", fmt.Errorf("--version: %v\n%s", err, vout)
	}
	version := strings.TrimSpace(string(vout))
	if !strings.Contains(version, t.goos+"/"+t.goarch) {
		return how, "", fmt.Errorf("--version says %q, want the target %s/%s in it", version, t.goos, t.goarch)
	}
	fmt.Fprintf(w, "  %s\n", version)

	store, err := os.MkdirTemp("", "wren-smoke-"+t.name)
	if err != nil {
		return how, "", err
	}
	defer os.RemoveAll(store)
	port, err := freePort()
	if err != nil {
		return how, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	argv := prefix0(prefix, bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-sd", store)

	payload := []byte(fmt.Sprintf("wren smoke %s %d", t.name, time.Now().UnixNano()))
	var seq uint64
	for round := 1; round <= 2; round++ {
		started := time.Now()
		d, err := startDaemon(argv, addr, nil, time.Minute)
		if err != nil {
			return how, "", fmt.Errorf("start %d: %w", round, err)
		}
		fmt.Fprintf(w, "  start %d: listening after %.1fs\n", round, time.Since(started).Seconds())
		if round == 1 {
			seq, err = smokeFirst(ctx, "nats://"+addr, payload)
		} else {
			err = smokeSecond(ctx, "nats://"+addr, seq, payload)
		}
		if err != nil {
			d.kill()
			return how, "", fmt.Errorf("round %d: %w\nserver output:\n%s", round, err, d.out)
		}
		if err := d.stop(time.Minute); err != nil {
			return how, "", fmt.Errorf("stop %d: %w", round, err)
		}
	}
	return how, "stream message survived a restart", nil
}

func prefix0(prefix []string, bin string, args ...string) []string {
	return append(append(append([]string{}, prefix...), bin), args...)
}

// smokeFirst checks core pub/sub, creates a file-backed stream and
// publishes one message to it; it returns the message's sequence.
func smokeFirst(ctx context.Context, url string, payload []byte) (uint64, error) {
	nc, err := nats.Connect(url, nats.Timeout(30*time.Second), nats.NoReconnect())
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	core, err := nc.SubscribeSync("smoke.core.>")
	if err != nil {
		return 0, err
	}
	if err := nc.Publish("smoke.core.hello", payload); err != nil {
		return 0, err
	}
	if m, err := core.NextMsg(30 * time.Second); err != nil {
		return 0, fmt.Errorf("core subscribe: %w", err)
	} else if !bytes.Equal(m.Data, payload) {
		return 0, fmt.Errorf("core subscribe got %q, want %q", m.Data, payload)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "SMOKE", Subjects: []string{"smoke.js.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		return 0, fmt.Errorf("create stream: %w", err)
	}
	tap, err := nc.SubscribeSync("smoke.js.>")
	if err != nil {
		return 0, err
	}
	ack, err := js.Publish(ctx, "smoke.js.reading", payload)
	if err != nil {
		return 0, fmt.Errorf("stream publish: %w", err)
	}
	if ack.Stream != "SMOKE" {
		return 0, fmt.Errorf("puback from stream %q, want SMOKE", ack.Stream)
	}
	if m, err := tap.NextMsg(30 * time.Second); err != nil {
		return 0, fmt.Errorf("core subscriber on the stream subject: %w", err)
	} else if !bytes.Equal(m.Data, payload) {
		return 0, fmt.Errorf("core subscriber on the stream subject got %q", m.Data)
	}
	return ack.Sequence, nil
}

// smokeSecond checks that the stream and its message came back.
func smokeSecond(ctx context.Context, url string, seq uint64, payload []byte) error {
	nc, err := nats.Connect(url, nats.Timeout(30*time.Second), nats.NoReconnect())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	s, err := js.Stream(ctx, "SMOKE")
	if err != nil {
		return fmt.Errorf("stream after restart: %w", err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		return fmt.Errorf("stream has %d messages after restart, want 1", n)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("get message %d after restart: %w", seq, err)
	}
	if !bytes.Equal(m.Data, payload) || m.Subject != "smoke.js.reading" {
		return fmt.Errorf("after restart message %d is %q on %q, want %q on smoke.js.reading", seq, m.Data, m.Subject, payload)
	}
	return nil
}

// refuseOnCPU checks that bin does not run on cpu (a GOARM=7 build on an
// ARMv6 core): proof that the emulator honours the pinned model.
func refuseOnCPU(t target, bin, cpu string) (string, string, error) {
	prefix, how, err := runner(t, cpu)
	if err != nil {
		return how, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// qemu may leave a core file where the program dies: not in the repo.
	scratch, err := os.MkdirTemp("", "wren-refuse")
	if err != nil {
		return how, "", err
	}
	defer os.RemoveAll(scratch)
	argv := prefix0(prefix, bin, "--version")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = scratch
	out, err := cmd.CombinedOutput()
	if err == nil {
		return how, "", fmt.Errorf("%s ran on %s; the CPU model is not enforced:\n%s", t.name, cpu, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return how, "", err
	}
	if ctx.Err() != nil {
		return how, "", fmt.Errorf("timed out instead of refusing")
	}
	note := "refused: " + exitDescription(ee)
	if line := firstLine(out); line != "" {
		note += ": " + line
	}
	return how, note, nil
}

func exitDescription(ee *exec.ExitError) string {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ee.ExitCode())
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
