package main

import (
	"testing"
	"time"
)

func TestParseBenchStats(t *testing.T) {
	out := "13:46:23 Starting JetStream batched publisher benchmark [batch=100]\n" +
		"13:46:23 [1] Starting JetStream batched publisher, publishing 20,000 messages\n\n" +
		"NATS JetStream batched publisher stats: 57,389 msgs/sec ~ 897 KiB/sec ~ min: 627.75us ~ avg: 1,741.37us ~ " +
		"max: 9,966.34us ~ P50: 849.10us ~ P90: 4,169.82us ~ P99: 8,353.87us ~ P99.9: 9,966.34us\n"
	s, err := parseBenchStats(out, "batched publisher")
	if err != nil {
		t.Fatal(err)
	}
	if s.rate != 57389 || s.p50 != 849100*time.Nanosecond || s.p99 != 8353870*time.Nanosecond {
		t.Errorf("parseBenchStats = %+v; want 57389 msgs/s, p50 849.1µs, p99 8353.87µs", s)
	}
	if _, err := parseBenchStats(out, "subscriber"); err == nil {
		t.Error("a subscriber line was found in publisher-only output")
	}
}

func TestPresetsNameScenarios(t *testing.T) {
	for name, list := range presets {
		sel, err := selectScenarios(name)
		if err != nil {
			t.Errorf("preset %s (%s): %v", name, list, err)
		}
		if len(sel) == 0 {
			t.Errorf("preset %s selects nothing", name)
		}
	}
}
