package server

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// /metrics serves the Prometheus text format. The broker's own series are
// written here; parts that live elsewhere (the stream layer, the uplink)
// add theirs with AddMetrics, and cmd/wren wires them. Conventions: a
// wren_ prefix, _total on counters, base units (bytes, seconds), and label
// sets bounded by configuration (stream and consumer names, never
// subjects or client ids). The Go runtime's series keep the names the
// reference Go client gives them (go_*, process_*), which existing
// dashboards expect.

// metricsHooks are the sources AddMetrics registered, in order.
type metricsHooks struct {
	mu    sync.Mutex
	names []string
	fns   []func(*PromWriter)
}

// AddMetrics registers f to write its families into every /metrics answer,
// after the broker's. A second registration under the same name replaces
// the first. The uplink registers its state here ("uplink"), the stream
// layer its streams and consumers ("jetstream").
func (s *Server) AddMetrics(name string, f func(*PromWriter)) {
	h := &s.mon.metrics
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, n := range h.names {
		if n == name {
			h.fns[i] = f
			return
		}
	}
	h.names = append(h.names, name)
	h.fns = append(h.fns, f)
}

// Metrics returns the /metrics document.
func (s *Server) Metrics() []byte {
	w := &PromWriter{b: make([]byte, 0, 8<<10)}
	s.writeMetrics(w)
	writeRuntimeMetrics(w)
	h := &s.mon.metrics
	h.mu.Lock()
	fns := slices.Clone(h.fns)
	h.mu.Unlock()
	for _, f := range fns {
		f(w)
	}
	return w.Bytes()
}

func (s *Server) writeMetrics(w *PromWriter) {
	st := s.Stats()
	w.Family("wren_info", PromGauge, "Wren's version; always 1.")
	w.Sample("wren_info", 1, "version", Version, "compat_version", CompatVersion, "server_id", s.id)
	w.One("wren_start_time_seconds", PromGauge, "When the server started, in seconds since the Unix epoch.", float64(s.start.UnixNano())/1e9)
	w.One("wren_connections", PromGauge, "Open client connections.", float64(st.Connections))
	w.One("wren_connections_total", PromCounter, "Client connections accepted since start.", float64(st.TotalConnections))
	w.One("wren_subscriptions", PromGauge, "Subscriptions in the subject index, the stream layer's included.", float64(st.Subscriptions))
	w.One("wren_in_messages_total", PromCounter, "Messages received from clients.", float64(st.InMsgs))
	w.One("wren_in_bytes_total", PromCounter, "Payload bytes received from clients.", float64(st.InBytes))
	w.One("wren_out_messages_total", PromCounter, "Messages delivered to subscribers.", float64(st.OutMsgs))
	w.One("wren_out_bytes_total", PromCounter, "Payload bytes delivered to subscribers.", float64(st.OutBytes))
	w.One("wren_slow_consumers_total", PromCounter, "Clients disconnected as slow consumers.", float64(st.SlowConsumers))
	w.One("wren_auth_failures_total", PromCounter, "Connections refused for bad or missing credentials.", float64(s.stats.authFailures.Load()))
	ldm := 0.0
	if s.InLameDuckMode() {
		ldm = 1
	}
	w.One("wren_lame_duck_mode", PromGauge, "1 while the server is in lame duck mode.", ldm)
}

// writeRuntimeMetrics writes the Go runtime's memory and GC series, and the
// process's resident memory where /proc tells it.
func writeRuntimeMetrics(w *PromWriter) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Family("go_info", PromGauge, "The Go version the binary was built with; always 1.")
	w.Sample("go_info", 1, "version", runtime.Version())
	w.One("go_goroutines", PromGauge, "Goroutines that currently exist.", float64(runtime.NumGoroutine()))
	w.One("go_memstats_sys_bytes", PromGauge, "Bytes of memory obtained from the OS.", float64(ms.Sys))
	w.One("go_memstats_heap_alloc_bytes", PromGauge, "Bytes of allocated heap objects.", float64(ms.HeapAlloc))
	w.One("go_memstats_heap_inuse_bytes", PromGauge, "Bytes in in-use heap spans.", float64(ms.HeapInuse))
	w.One("go_memstats_heap_idle_bytes", PromGauge, "Bytes in idle heap spans.", float64(ms.HeapIdle))
	w.One("go_memstats_heap_released_bytes", PromGauge, "Bytes of heap returned to the OS.", float64(ms.HeapReleased))
	w.One("go_memstats_heap_objects", PromGauge, "Allocated heap objects.", float64(ms.HeapObjects))
	w.One("go_memstats_stack_inuse_bytes", PromGauge, "Bytes in stack spans.", float64(ms.StackInuse))
	w.One("go_memstats_alloc_bytes_total", PromCounter, "Bytes allocated for heap objects since start.", float64(ms.TotalAlloc))
	w.One("go_memstats_next_gc_bytes", PromGauge, "Heap size at which the next GC cycle starts.", float64(ms.NextGC))
	w.One("go_memstats_last_gc_time_seconds", PromGauge, "When the last GC cycle ended, in seconds since the Unix epoch.", float64(ms.LastGC)/1e9)
	w.Family("go_gc_duration_seconds", PromSummary, "Stop-the-world pause time of GC cycles.")
	w.Sample("go_gc_duration_seconds_sum", float64(ms.PauseTotalNs)/1e9)
	w.Sample("go_gc_duration_seconds_count", float64(ms.NumGC))
	if rss, ok := residentBytes(); ok {
		w.One("process_resident_memory_bytes", PromGauge, "Resident memory size in bytes.", float64(rss))
	}
	if cpu, ok := processCPU(); ok {
		w.One("process_cpu_seconds_total", PromCounter, "Total user and system CPU time spent in seconds.", cpu.Seconds())
	}
	w.One("process_time_seconds", PromGauge, "The process's clock, in seconds since the Unix epoch, to compare start times with.", float64(time.Now().UnixNano())/1e9)
}

// memInUse is the "mem" of /varz and STATSZ: the resident set where the
// platform tells it, as nats-server reports it, else the memory the Go
// runtime holds from the OS.
func memInUse(ms *runtime.MemStats) uint64 {
	if rss, ok := residentBytes(); ok {
		return uint64(rss)
	}
	return ms.Sys - ms.HeapReleased
}

// residentBytes reads the process's resident set size from
// /proc/self/statm (Linux); false elsewhere.
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
