package main

import (
	"context"
	"testing"
	"time"

	"github.com/wrenmq/wren/server"
)

// The benchmarks here run the loadgen scenarios against a Wren server in
// this process, so that the standard profilers see the server's Go code:
//
//	go test ./tests/loadgen -run '^$' -bench InProc/pubsub -benchtime 1000000x \
//	    -cpuprofile cpu.out -memprofile mem.out
//	go tool pprof -top -focus wrenmq cpu.out
//
// b.N is the message (or request) count. The client shares the process,
// so its costs appear in the profiles too; focus on the server's packages.
func BenchmarkInProc(b *testing.B) {
	for _, sc := range scenarios {
		if sc.needsStore() {
			continue
		}
		b.Run(sc.name(), func(b *testing.B) { benchInProc(b, sc) })
	}
}

func benchInProc(b *testing.B, sc scenario) {
	s, err := server.New(server.Options{Host: "127.0.0.1", Port: 0})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	cfg := &config{
		msgs: b.N, size: 128, subs: 5, queue: 4, requesters: 8, reqs: b.N,
		jsMsgs: b.N, jsPending: 4000, timeout: 5 * time.Minute,
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	b.ReportAllocs()
	res, err := sc.run(ctx, s.ClientURL(), cfg, b.ResetTimer)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if res.note != "" {
		b.Log(res.note)
	}
	b.ReportMetric(res.rate(), sc.unit())
}
