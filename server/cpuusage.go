package server

import (
	"sync"
	"time"
)

// cpuMeter turns the process's CPU time into the percentage /varz and
// STATSZ report as "cpu": CPU time over wall time since the previous
// sample, 100 per fully busy core. A sample covers at least cpuSampleMin,
// so a monitor polled often reports a steady figure; between samples the
// last figure is repeated. Nothing runs in the background.
type cpuMeter struct {
	mu   sync.Mutex
	wall time.Time     // when the last sample was taken
	cpu  time.Duration // the process's CPU time then
	pct  float64
	// reported is set once a figure was computed; until then any
	// elapsed time makes one.
	reported bool
}

const cpuSampleMin = time.Second

// start takes the first sample; the first report covers the time since.
func (m *cpuMeter) start(now time.Time) {
	m.wall = now
	m.cpu, _ = processCPU()
}

// percent reports the process's CPU use since the previous sample, or 0
// where the platform does not tell it.
func (m *cpuMeter) percent(now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	elapsed := now.Sub(m.wall)
	if elapsed <= 0 || (elapsed < cpuSampleMin && m.reported) {
		return m.pct
	}
	cpu, ok := processCPU()
	if !ok {
		return 0
	}
	m.pct = roundTenth(100 * float64(cpu-m.cpu) / float64(elapsed))
	m.wall, m.cpu, m.reported = now, cpu, true
	return m.pct
}

func roundTenth(f float64) float64 {
	return float64(int64(f*10+0.5)) / 10
}
