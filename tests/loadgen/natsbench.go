package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The nb-* scenarios drive the nats CLI's own benchmark (`nats bench`,
// natscli v0.4.0) against each server, so that the figures compare with
// what operators run. The rate is the one nats bench prints; the server's
// CPU time and peak RSS are read from /proc as for every scenario.

// natsBenchCLI returns the nats CLI, or errUnsupported without one.
func natsBenchCLI(cfg *config) (string, error) {
	if cfg.natsCLI != "" {
		return cfg.natsCLI, nil
	}
	p, err := exec.LookPath("nats")
	if err != nil {
		return "", fmt.Errorf("%w: nats CLI not on PATH (go install github.com/nats-io/natscli/nats@v0.4.0, or pass --nats)", errUnsupported)
	}
	return p, nil
}

// statsRe matches the summary line nats bench prints for each side, e.g.
// "NATS Core NATS publisher stats: 2,380,710 msgs/sec ~ 36 MiB/sec ~ ...
// ~ P50: 0.07us ~ P90: 0.08us ~ P99: 0.1us ~ P99.9: 17.15us".
var statsRe = regexp.MustCompile(`NATS (.+) stats: ([0-9,]+) msgs/sec`)

var pctRe = regexp.MustCompile(`P(50|99): ([0-9,.]+)us`)

// benchStats is what one nats bench summary line says.
type benchStats struct {
	rate     float64
	p50, p99 time.Duration
}

// parseBenchStats finds the summary line of the side named like label
// ("publisher", "subscriber") in nats bench's output.
func parseBenchStats(out, label string) (benchStats, error) {
	for _, line := range strings.Split(out, "\n") {
		m := statsRe.FindStringSubmatch(line)
		if m == nil || !strings.Contains(m[1], label) {
			continue
		}
		var s benchStats
		s.rate, _ = strconv.ParseFloat(strings.ReplaceAll(m[2], ",", ""), 64)
		for _, p := range pctRe.FindAllStringSubmatch(line, -1) {
			us, _ := strconv.ParseFloat(strings.ReplaceAll(p[2], ",", ""), 64)
			d := time.Duration(us * 1e3)
			if p[1] == "50" {
				s.p50 = d
			} else {
				s.p99 = d
			}
		}
		if s.rate <= 0 {
			return s, fmt.Errorf("no rate in %q", line)
		}
		return s, nil
	}
	return benchStats{}, fmt.Errorf("no %s stats in nats bench output:\n%s", label, tail(out, 1500))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// benchProc is one running nats bench.
type benchProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	seen chan struct{} // closed once a line containing ready shows
	done chan error
}

// startBench runs `nats --server url bench args...`; seen is closed once
// the output has a line containing ready.
func startBench(ctx context.Context, cli, url, ready string, args ...string) (*benchProc, error) {
	cmd := exec.CommandContext(ctx, cli, append([]string{"--server", url, "bench"}, args...)...)
	cmd.SysProcAttr = sysProcAttr()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &benchProc{cmd: cmd, seen: make(chan struct{}), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if ready != "" && strings.Contains(line, ready) {
				once.Do(func() { close(p.seen) })
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		p.done <- err
	}()
	return p, nil
}

func (p *benchProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait waits for the process and returns its output.
func (p *benchProc) wait() (string, error) {
	err := <-p.done
	// Let the reader take the last lines.
	time.Sleep(20 * time.Millisecond)
	out := p.output()
	if err != nil {
		return out, fmt.Errorf("nats bench: %v\n%s", err, tail(out, 1500))
	}
	return out, nil
}

func sizeArg(n int) string { return strconv.Itoa(n) + "B" }

// natsBenchPub: `nats bench pub`, one publisher, no subscriber.
type natsBenchPub struct {
	id   string
	size int
}

func (n natsBenchPub) name() string   { return n.id }
func (natsBenchPub) unit() string     { return "msgs/s" }
func (natsBenchPub) needsStore() bool { return false }

func (n natsBenchPub) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	cli, err := natsBenchCLI(cfg)
	if err != nil {
		return result{}, err
	}
	mark()
	p, err := startBench(ctx, cli, url, "", "pub", "bench.nb", "--msgs", strconv.Itoa(cfg.msgs), "--size", sizeArg(n.size), "--no-progress")
	if err != nil {
		return result{}, err
	}
	out, err := p.wait()
	if err != nil {
		return result{}, err
	}
	s, err := parseBenchStats(out, "publisher")
	if err != nil {
		return result{}, err
	}
	s.p50, s.p99 = 0, 0 // the time of a buffered Publish call, not a delivery
	return benchResult(cfg.msgs, s), nil
}

func benchResult(n int, s benchStats) result {
	r := result{count: int64(n), expected: int64(n), elapsed: time.Duration(float64(n) / s.rate * 1e9)}
	r.p50, r.p99 = s.p50, s.p99
	return r
}

// natsBenchPubSub: `nats bench sub` and `nats bench pub` on one subject;
// the rate is the subscriber's.
type natsBenchPubSub struct {
	id   string
	size int
}

func (n natsBenchPubSub) name() string   { return n.id }
func (natsBenchPubSub) unit() string     { return "msgs/s" }
func (natsBenchPubSub) needsStore() bool { return false }

func (n natsBenchPubSub) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	cli, err := natsBenchCLI(cfg)
	if err != nil {
		return result{}, err
	}
	msgs, size := strconv.Itoa(cfg.msgs), sizeArg(n.size)
	sub, err := startBench(ctx, cli, url, "Starting Core NATS subscriber", "sub", "bench.nb", "--msgs", msgs, "--size", size, "--no-progress")
	if err != nil {
		return result{}, err
	}
	select {
	case <-sub.seen:
	case err := <-sub.done:
		return result{}, fmt.Errorf("nats bench sub ended before subscribing: %v\n%s", err, sub.output())
	case <-time.After(10 * time.Second):
		return result{}, errors.New("nats bench sub did not start within 10s")
	}
	// It prints that line right before it subscribes; give the SUB
	// and its flush ample time to reach the server.
	time.Sleep(time.Second)
	mark()
	pub, err := startBench(ctx, cli, url, "", "pub", "bench.nb", "--msgs", msgs, "--size", size, "--no-progress")
	if err != nil {
		return result{}, err
	}
	if _, err := pub.wait(); err != nil {
		return result{}, err
	}
	out, err := sub.wait()
	if err != nil {
		return result{}, err
	}
	s, err := parseBenchStats(out, "subscriber")
	if err != nil {
		return result{}, err
	}
	s.p50, s.p99 = 0, 0 // gaps between receives, not delivery latency
	return benchResult(cfg.msgs, s), nil
}

// natsBenchBatch: `nats bench js pub batch`, atomic batches of --js-batch
// messages into a file stream the CLI creates (allow_atomic); the
// latencies are per batch, from its first message to the commit's PubAck.
type natsBenchBatch struct{}

func (natsBenchBatch) name() string     { return "nb-js-batch" }
func (natsBenchBatch) unit() string     { return "msgs/s" }
func (natsBenchBatch) needsStore() bool { return true }

func (natsBenchBatch) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	cli, err := natsBenchCLI(cfg)
	if err != nil {
		return result{}, err
	}
	mark()
	p, err := startBench(ctx, cli, url, "", "js", "pub", "batch", "bench.nbjs", "--create", "--stream", "NBBATCH",
		"--msgs", strconv.Itoa(cfg.jsMsgs), "--batch", strconv.Itoa(cfg.jsBatch), "--size", sizeArg(cfg.size), "--no-progress")
	if err != nil {
		return result{}, err
	}
	out, err := p.wait()
	if err != nil {
		if strings.Contains(out, "could not create the stream") || strings.Contains(out, "requires NATS Server") {
			return result{}, fmt.Errorf("%w: %s", errUnsupported, tail(out, 300))
		}
		return result{}, err
	}
	s, err := parseBenchStats(out, "batched publisher")
	if err != nil {
		return result{}, err
	}
	return benchResult(cfg.jsMsgs, s), nil
}
