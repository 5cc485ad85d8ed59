package store

import (
	"sync/atomic"
	"time"
)

// FsyncBuckets are the upper bounds, in seconds, of the stream-log fsync
// latency histogram: from a fast SSD's 100µs to an SD card's seconds.
var FsyncBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// fsyncLatency counts the stream logs' fsyncs by duration, for every
// stream layer in the process: counts[i] those within FsyncBuckets[i]
// (not cumulative), the last one those slower than every bound.
var fsyncLatency struct {
	counts [16]atomic.Uint64
	nanos  atomic.Uint64
	last   atomic.Int64 // nanoseconds of the latest
}

// LastFsync reports how long the latest stream-log fsync in the process
// took (0 before the first): what the next one is likely to cost.
func LastFsync() time.Duration { return time.Duration(fsyncLatency.last.Load()) }

// Histogram is a snapshot of a latency histogram in seconds: Counts[i]
// observations at or under Bounds[i] (cumulative), Count and Sum of all.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// FsyncLatency returns the stream logs' fsync latencies so far.
func FsyncLatency() Histogram {
	h := Histogram{Bounds: FsyncBuckets, Counts: make([]uint64, len(FsyncBuckets))}
	var cum uint64
	for i := range FsyncBuckets {
		cum += fsyncLatency.counts[i].Load()
		h.Counts[i] = cum
	}
	h.Count = cum + fsyncLatency.counts[len(FsyncBuckets)].Load()
	h.Sum = float64(fsyncLatency.nanos.Load()) / 1e9
	return h
}

// timedSync runs an fsync and records how long it took.
func timedSync(sync func() error) error {
	start := time.Now()
	err := sync()
	d := time.Since(start)
	sec := d.Seconds()
	i := 0
	for i < len(FsyncBuckets) && sec > FsyncBuckets[i] {
		i++
	}
	fsyncLatency.counts[i].Add(1)
	fsyncLatency.nanos.Add(uint64(d))
	fsyncLatency.last.Store(int64(d))
	return err
}
