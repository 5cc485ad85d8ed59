package main

import (
	"context"
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

var (
	jsCPUProfile = flag.String("js.cpuprofile", "", "write a CPU profile of the timed part of each BenchmarkInProcJS run (after the stream is filled) to this file")
	jsMemProfile = flag.String("js.memprofile", "", "write a heap profile of what each BenchmarkInProcJS run still holds when it ends, before the server stops, to this file")
)

// BenchmarkInProcJS runs the stream scenarios against a Wren server with
// its stream layer in this process, like BenchmarkInProc:
//
//	go test ./tests/loadgen -run '^$' -bench InProcJS/js-fetch -benchtime 100000x \
//	    -js.cpuprofile cpu.out
//	go tool pprof -top -focus wrenmq cpu.out
//
// -js.cpuprofile leaves the filling of the stream out of the profile;
// -js.memprofile shows what the server holds at the end of the run.
// b.N is the message count.
func BenchmarkInProcJS(b *testing.B) {
	for _, sc := range scenarios {
		if !sc.needsStore() {
			continue
		}
		b.Run(sc.name(), func(b *testing.B) { benchInProcJS(b, sc) })
	}
}

func benchInProcJS(b *testing.B, sc scenario) {
	s, err := server.New(server.Options{Host: "127.0.0.1", Port: 0, JetStream: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	ip := s.InProc("jetstream")
	js, err := jetstore.Open(ip, jetstore.Config{StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		js.Close()
		ip.Close()
	}()
	cfg := &config{
		size: 128, jsMsgs: b.N, jsSyncMsgs: b.N, jsPending: 4000, jsBatch: 100,
		timeout: 5 * time.Minute,
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	b.ReportAllocs()
	profiling := false
	mark := func() {
		b.ResetTimer()
		if *jsCPUProfile == "" || profiling {
			return
		}
		f, err := os.Create(*jsCPUProfile)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		profiling = true
	}
	res, err := sc.run(ctx, s.ClientURL(), cfg, mark)
	b.StopTimer()
	if profiling {
		pprof.StopCPUProfile()
	}
	if err != nil {
		b.Fatal(err)
	}
	if *jsMemProfile != "" {
		writeHeapProfile(b, *jsMemProfile)
	}
	if res.note != "" {
		b.Log(res.note)
	}
	b.ReportMetric(res.rate(), sc.unit())
}

// writeHeapProfile writes what is live now, after a collection.
func writeHeapProfile(b *testing.B, path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
