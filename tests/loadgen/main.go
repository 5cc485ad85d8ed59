// Command loadgen measures Wren and nats-server side by side in one run:
// it starts each as a child process on a free loopback port, runs the same
// workloads against both with the same client (nats.go), alternating which
// server goes first from round to round, and prints throughput ratios.
//
//	go run ./tests/loadgen --msgs 500000 --rounds 3
//
// See README.md beside this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const coreScenarios = "pub,pubsub,fanout,queue,reqrep"

func main() {
	os.Exit(mainErr())
}

func mainErr() int {
	var (
		cfg       config
		wrenBin   = flag.String("wren", "", "wren binary (default: build ./cmd/wren from this repository)")
		natsBin   = flag.String("nats-server", "", "nats-server binary (default: from PATH or GOPATH/bin)")
		baseline  = flag.String("baseline", "", "compare against this other wren binary instead of nats-server (A/B of two builds)")
		which     = flag.String("scenarios", coreScenarios, "comma-separated scenarios, \"table\" (the README's performance table) or \"all\"")
		rounds    = flag.Int("rounds", 3, "rounds; each runs every scenario on both servers, alternating which goes first")
		jsonOut   = flag.String("json", "", "also write the full report as JSON to this file (\"-\" for stdout)")
		perfDir   = flag.String("perf", "", "record each server with `perf record -g` into this directory while the load runs")
		keep      = flag.Bool("keep", false, "keep the work directory (server logs) instead of removing it")
		pause     = flag.Duration("pause", 300*time.Millisecond, "pause between runs, to let the machine settle")
		listNames = flag.Bool("list", false, "list the scenarios and exit")
	)
	flag.IntVar(&cfg.msgs, "msgs", 1_000_000, "messages published per core scenario")
	flag.IntVar(&cfg.size, "size", 128, "payload size in bytes")
	flag.IntVar(&cfg.subs, "subs", 5, "subscribers in fanout")
	flag.IntVar(&cfg.queue, "queue", 4, "queue group members in queue")
	flag.IntVar(&cfg.requesters, "requesters", 8, "concurrent requesters in reqrep")
	flag.IntVar(&cfg.reqs, "reqs", 100_000, "requests in reqrep")
	flag.IntVar(&cfg.jsMsgs, "js-msgs", 200_000, "messages per stream scenario")
	flag.IntVar(&cfg.jsPending, "js-pending", 4000, "most unacknowledged async publishes in flight")
	flag.IntVar(&cfg.jsSyncMsgs, "js-sync-msgs", 5000, "messages of js-sync and js-sync-raw (one fsync each)")
	flag.IntVar(&cfg.jsBatch, "js-batch", 100, "messages per atomic batch (js-batch, nb-js-batch) and per Fetch (js-fetch)")
	flag.StringVar(&cfg.natsCLI, "nats", "", "nats CLI for the nb-* scenarios (default: from PATH)")
	flag.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "time limit of one scenario run on one server")
	flag.Parse()

	if *listNames {
		for _, sc := range scenarios {
			fmt.Println(sc.name())
		}
		return 0
	}
	selected, err := selectScenarios(*which)
	if err == nil {
		err = cfg.validate(*rounds)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 2
	}

	// The first Ctrl-C cancels the load and stops the servers; a second
	// one gives up waiting.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "\ninterrupted: stopping servers")
		cancel()
		<-sigs
		stopAll()
		os.Exit(130)
	}()
	defer stopAll()

	workDir, err := os.MkdirTemp("", "wren-loadgen-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 1
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "work directory:", workDir)
	} else {
		defer os.RemoveAll(workDir)
	}

	if *wrenBin == "" {
		fmt.Fprintln(os.Stderr, "building wren ...")
		if *wrenBin, err = buildWren(ctx, workDir); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			return 1
		}
	}
	if *natsBin == "" && *baseline == "" {
		if *natsBin, err = findNatsServer(); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			return 1
		}
	}
	if *perfDir != "" {
		if err := os.MkdirAll(*perfDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			return 1
		}
	}
	kinds := []serverKind{wrenKind(*wrenBin), natsKind(*natsBin)}
	versions := map[string]string{
		"wren": binVersion(*wrenBin, "version") + " (" + *wrenBin + ")",
	}
	if *baseline != "" {
		kinds[1] = wrenKind(*baseline)
		kinds[1].name = "baseline"
		versions["baseline"] = binVersion(*baseline, "version") + " (" + *baseline + ")"
	} else {
		versions["nats-server"] = binVersion(*natsBin, "--version") + " (" + *natsBin + ")"
	}
	rep := &report{
		Started:  time.Now(),
		Servers:  []string{kinds[0].name, kinds[1].name},
		Versions: versions,
		Config: map[string]any{
			"rounds": *rounds, "msgs": cfg.msgs, "size": cfg.size, "subs": cfg.subs,
			"queue": cfg.queue, "requesters": cfg.requesters, "reqs": cfg.reqs,
			"js_msgs": cfg.jsMsgs, "js_pending": cfg.jsPending, "js_sync_msgs": cfg.jsSyncMsgs,
			"js_batch": cfg.jsBatch, "timeout": cfg.timeout.String(),
		},
	}

	b := bench{cfg: &cfg, kinds: kinds, workDir: workDir, perfDir: *perfDir, pause: *pause}
	for _, sc := range selected {
		rw := b.scenario(ctx, sc, *rounds)
		rep.Rows = append(rep.Rows, rw)
		if ctx.Err() != nil {
			break
		}
	}

	if ctx.Err() == nil && slices.ContainsFunc(selected, func(s scenario) bool { return s.needsStore() }) {
		if f, err := measureFloor(workDir, 2000); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: measuring the machine's floor:", err)
		} else {
			rep.Floor = &f
		}
	}
	rep.printTable(os.Stdout)
	if *jsonOut != "" {
		if err := writeJSONFile(rep, *jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			return 1
		}
	}
	if ctx.Err() != nil {
		return 130
	}
	return 0
}

func (cfg *config) validate(rounds int) error {
	switch {
	case rounds < 1:
		return errors.New("--rounds must be at least 1")
	case cfg.msgs < 1 || cfg.reqs < 1 || cfg.jsMsgs < 1:
		return errors.New("--msgs, --reqs and --js-msgs must be at least 1")
	case cfg.size < 0 || cfg.size > 1<<20:
		return errors.New("--size must be between 0 and 1 MiB")
	case cfg.subs < 1 || cfg.queue < 1 || cfg.requesters < 1 || cfg.jsPending < 1 || cfg.jsSyncMsgs < 1:
		return errors.New("--subs, --queue, --requesters, --js-pending and --js-sync-msgs must be at least 1")
	case cfg.jsBatch < 2 || cfg.jsBatch > 1000:
		return errors.New("--js-batch must be between 2 and 1000 (the most one atomic batch holds)")
	case cfg.timeout <= 0:
		return errors.New("--timeout must be positive")
	}
	return nil
}

func selectScenarios(list string) ([]scenario, error) {
	if list == "all" {
		return scenarios, nil
	}
	if p, ok := presets[list]; ok {
		list = p
	}
	var out []scenario
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name() == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown scenario %q (see --list)", name)
		}
		out = append(out, scenarios[i])
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario selected")
	}
	return out, nil
}

func writeJSONFile(rep *report, path string) error {
	if path == "-" {
		return rep.writeJSON(os.Stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.writeJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bench runs scenarios on both servers.
type bench struct {
	cfg     *config
	kinds   []serverKind // wren first
	workDir string
	perfDir string
	pause   time.Duration
}

// scenario runs one scenario for every round on both servers. Round r
// runs the servers in kinds order when r is even and reversed when odd,
// so that neither always goes first.
func (b *bench) scenario(ctx context.Context, sc scenario, rounds int) *row {
	rw := &row{Scenario: sc.name(), Unit: sc.unit()}
	sums := make(map[string]*serverSummary)
	for _, k := range b.kinds {
		s := &serverSummary{Server: k.name}
		sums[k.name] = s
		rw.Servers = append(rw.Servers, s)
	}
	for r := 0; r < rounds && ctx.Err() == nil; r++ {
		order := slices.Clone(b.kinds)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			s := sums[k.name]
			if s.NA != "" || ctx.Err() != nil {
				continue
			}
			run, err := b.once(ctx, sc, k, r)
			if errors.Is(err, errUnsupported) {
				s.NA = err.Error()
				fmt.Fprintf(os.Stderr, "%-10s round %d  %-12s n/a (%v)\n", sc.name(), r+1, k.name, err)
				continue
			}
			if err != nil {
				run.Error = err.Error()
				fmt.Fprintf(os.Stderr, "%-10s round %d  %-12s ERROR %v\n", sc.name(), r+1, k.name, err)
			} else {
				fmt.Fprintf(os.Stderr, "%-10s round %d  %-12s %12s %s  (%d in %.2fs) %s\n", sc.name(), r+1, k.name,
					humanRate(run.Rate), sc.unit(), run.Count, run.ElapsedSec, joinNote(run.Note, run.Info))
			}
			s.Runs = append(s.Runs, run)
			time.Sleep(b.pause)
		}
	}
	rw.finish()
	return rw
}

// once starts a fresh server, runs the scenario against it within the
// time limit, reads the server's peak RSS and CPU time, and stops it.
func (b *bench) once(ctx context.Context, sc scenario, k serverKind, round int) (serverRun, error) {
	run := serverRun{Round: round + 1}
	_, fsyncAll := sc.(fsyncAllScenario)
	c, err := startServer(ctx, k, b.workDir, sc.needsStore(), fsyncAll)
	if err != nil {
		return run, err
	}
	defer c.stop()
	memStop := make(chan struct{})
	go c.watchMem(memStop)
	defer close(memStop)
	// perf records from the mark on, as CPU is counted: a stream
	// scenario's filling of the stream is left out of both.
	var perf *perfRecorder
	u0, client0 := c.usage(), clientCPU()
	mark := func() {
		u0, client0 = c.usage(), clientCPU()
		if b.perfDir != "" && perf == nil {
			perf = startPerf(c, filepath.Join(b.perfDir, fmt.Sprintf("%s-%s-r%d.data", k.name, sc.name(), round+1)))
		}
	}
	rctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	res, err := sc.run(rctx, c.url, b.cfg, mark)
	cancel()
	perf.stop()
	u := c.usage()
	run.PeakRSS, run.PeakAnon, run.CPUSec = u.peakRSS, u.peakAnon, (u.cpu - u0.cpu).Seconds()
	if u.schedIns > u0.schedIns {
		run.SchedIns = u.schedIns - u0.schedIns
	}
	run.ClientCPUSec = (clientCPU() - client0).Seconds()
	if err != nil {
		return run, err
	}
	select {
	case <-c.exited:
		return run, fmt.Errorf("server exited during the run: %v%s", c.waitErr, c.logTail())
	default:
	}
	run.Count, run.Expected = res.count, res.expected
	run.ElapsedSec, run.Rate = res.elapsed.Seconds(), res.rate()
	run.Note, run.Info = res.note, res.info
	if len(res.lat) > 0 {
		slices.Sort(res.lat)
		res.p50, res.p99 = percentile(res.lat, 50), percentile(res.lat, 99)
	}
	run.P50us, run.P99us = float64(res.p50)/1e3, float64(res.p99)/1e3
	return run, nil
}
