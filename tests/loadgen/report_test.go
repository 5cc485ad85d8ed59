package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRowRSSRatios checks that the peak VmHWM and RssAnon ratios are the
// medians of the per-round ratios, paired by round, with their spread.
func TestRowRSSRatios(t *testing.T) {
	const mb = 1 << 20
	rw := &row{Scenario: "pubsub-16", Unit: "msgs/s", Servers: []*serverSummary{
		{Server: "wren", Runs: []serverRun{
			{Round: 1, Count: 10, Rate: 1, PeakRSS: 8 * mb, PeakAnon: 2 * mb, ClientCPUSec: 20e-6, SchedIns: 5},
			{Round: 2, Count: 10, Rate: 1, PeakRSS: 10 * mb, PeakAnon: 3 * mb, ClientCPUSec: 30e-6, SchedIns: 7},
			{Round: 3, Count: 10, Rate: 1, PeakRSS: 12 * mb, PeakAnon: 4 * mb, ClientCPUSec: 40e-6, SchedIns: 60},
		}},
		{Server: "nats-server", Runs: []serverRun{
			{Round: 3, Count: 10, Rate: 1, PeakRSS: 20 * mb, PeakAnon: 8 * mb},
			{Round: 1, Count: 10, Rate: 1, PeakRSS: 20 * mb, PeakAnon: 8 * mb},
			{Round: 2, Count: 10, Rate: 1, PeakRSS: 20 * mb, PeakAnon: 4 * mb},
		}},
	}}
	rw.finish()
	if rw.RSSRatio != 0.5 || rw.RSSRatioMin != 0.4 || rw.RSSRatioMax != 0.6 {
		t.Errorf("RSS ratio %v (%v-%v), want 0.5 (0.4-0.6)", rw.RSSRatio, rw.RSSRatioMin, rw.RSSRatioMax)
	}
	if rw.AnonRatio != 0.5 || rw.AnonRatioMin != 0.25 || rw.AnonRatioMax != 0.75 {
		t.Errorf("anon ratio %v (%v-%v), want 0.5 (0.25-0.75)", rw.AnonRatio, rw.AnonRatioMin, rw.AnonRatioMax)
	}
	if got := rw.Servers[0].PeakAnon; got != 4*mb {
		t.Errorf("wren peak anon %d, want the highest round's %d", got, 4*mb)
	}
	rep := &report{Servers: []string{"wren", "nats-server"}, Config: map[string]any{"rounds": 3}, Rows: []*row{rw}}
	var out bytes.Buffer
	rep.printTable(&out)
	// The clients' CPU per message is the median of the rounds' (3 µs
	// for wren), and so are the server's schedule-ins per 1,000 messages
	// (700); nats-server's runs carry neither and show "-".
	for _, want := range []string{"wren anon", "anon ratio", "4.0 MB", "(0.25-0.75)", "(0.40-0.60)", "client CPU/unit (wren)", "3.00µs", "sched-ins/1k (wren)", "700.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestStatusKB(t *testing.T) {
	if got := statusKB("\t   1234 kB"); got != 1234<<10 {
		t.Errorf("statusKB = %d, want %d", got, 1234<<10)
	}
	if got := statusKB(""); got != 0 {
		t.Errorf("statusKB of nothing = %d", got)
	}
}

func TestParseSchedstat(t *testing.T) {
	run, ins, ok := parseSchedstat("123456 789 42\n")
	if !ok || run != 123456 || ins != 42 {
		t.Errorf("parseSchedstat = %d, %d, %v; want 123456, 42, true", run, ins, ok)
	}
	if _, _, ok := parseSchedstat("123456 789"); ok {
		t.Error("parseSchedstat accepted a line without the count")
	}
}
