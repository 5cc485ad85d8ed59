package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// serverRun is one scenario run against one server.
type serverRun struct {
	Round      int     `json:"round"` // from 1
	Count      int64   `json:"count"`
	Expected   int64   `json:"expected"`
	ElapsedSec float64 `json:"elapsed_sec"`
	Rate       float64 `json:"rate"`
	PeakRSS    int64   `json:"peak_rss_bytes"`
	PeakAnon   int64   `json:"peak_rss_anon_bytes"`
	CPUSec     float64 `json:"server_cpu_sec"`
	// ClientCPUSec is what the clients (this process and the nats bench
	// it ran) spent over the same stretch: when it is several times the
	// server's, the clients set the rate for both servers.
	ClientCPUSec float64 `json:"client_cpu_sec,omitempty"`
	// SchedIns is how many times the kernel scheduled one of the
	// server's threads in over the same stretch (schedstat): its
	// wake-ups and context switches, a count that CPU time's noise does
	// not hide.
	SchedIns int64   `json:"server_sched_ins,omitempty"`
	P50us    float64 `json:"p50_us,omitempty"`
	P99us    float64 `json:"p99_us,omitempty"`
	Note     string  `json:"note,omitempty"`
	Info     string  `json:"info,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// cpuPerUnit is the server's CPU time per message (or request).
func (r serverRun) cpuPerUnit() time.Duration {
	if r.Count == 0 {
		return 0
	}
	return time.Duration(r.CPUSec / float64(r.Count) * 1e9)
}

// schedInsPerK is the server's schedule-ins per 1,000 messages (or
// requests); 0 when not measured.
func (r serverRun) schedInsPerK() float64 {
	if r.Count == 0 || r.SchedIns == 0 {
		return 0
	}
	return float64(r.SchedIns) * 1000 / float64(r.Count)
}

// clientCPUPerUnit is the clients' CPU time per message (or request).
func (r serverRun) clientCPUPerUnit() time.Duration {
	if r.Count == 0 {
		return 0
	}
	return time.Duration(r.ClientCPUSec / float64(r.Count) * 1e9)
}

// serverSummary is one server's runs of one scenario.
type serverSummary struct {
	Server     string      `json:"server"`
	NA         string      `json:"n_a,omitempty"` // why the server could not run it
	Runs       []serverRun `json:"runs"`
	MedianRate float64     `json:"median_rate"`
	PeakRSS    int64       `json:"peak_rss_bytes"`
	PeakAnon   int64       `json:"peak_rss_anon_bytes"`
}

// row is one scenario's outcome on both servers.
type row struct {
	Scenario    string           `json:"scenario"`
	Unit        string           `json:"unit"`
	Servers     []*serverSummary `json:"servers"` // wren first
	Ratio       float64          `json:"ratio_median,omitempty"`
	RatioMin    float64          `json:"ratio_min,omitempty"`
	RatioMax    float64          `json:"ratio_max,omitempty"`
	RoundRatios []float64        `json:"round_ratios,omitempty"`
	// CPURatio is the median over rounds of the server CPU per unit,
	// wren over the reference, with its spread.
	CPURatio    float64 `json:"cpu_ratio_median,omitempty"`
	CPURatioMin float64 `json:"cpu_ratio_min,omitempty"`
	CPURatioMax float64 `json:"cpu_ratio_max,omitempty"`
	// RSSRatio is the median over rounds of peak VmHWM, wren over the
	// reference; AnonRatio the same for peak RssAnon.
	RSSRatio     float64 `json:"rss_ratio_median,omitempty"`
	RSSRatioMin  float64 `json:"rss_ratio_min,omitempty"`
	RSSRatioMax  float64 `json:"rss_ratio_max,omitempty"`
	AnonRatio    float64 `json:"anon_ratio_median,omitempty"`
	AnonRatioMin float64 `json:"anon_ratio_min,omitempty"`
	AnonRatioMax float64 `json:"anon_ratio_max,omitempty"`
}

// report is the whole run.
type report struct {
	Started  time.Time         `json:"started"`
	Servers  []string          `json:"servers"` // the measured one first, then the reference
	Versions map[string]string `json:"versions"`
	Config   map[string]any    `json:"config"`
	Rows     []*row            `json:"rows"`
	Floor    *floor            `json:"floor,omitempty"`
}

func (s *serverSummary) ok() []serverRun {
	var out []serverRun
	for _, r := range s.Runs {
		if r.Error == "" {
			out = append(out, r)
		}
	}
	return out
}

// finish computes medians and the per-round ratios (wren over
// nats-server, pairing runs of the same round).
func (rw *row) finish() {
	for _, s := range rw.Servers {
		var rates []float64
		for _, r := range s.ok() {
			rates = append(rates, r.Rate)
			s.PeakRSS = max(s.PeakRSS, r.PeakRSS)
			s.PeakAnon = max(s.PeakAnon, r.PeakAnon)
		}
		s.MedianRate = median(rates)
	}
	if len(rw.Servers) != 2 {
		return
	}
	byRound := map[int]serverRun{}
	for _, r := range rw.Servers[1].ok() {
		byRound[r.Round] = r
	}
	rw.RoundRatios = nil
	var cpu, rss, anon []float64
	for _, r := range rw.Servers[0].ok() {
		ref, ok := byRound[r.Round]
		if !ok {
			continue
		}
		if ref.Rate > 0 {
			rw.RoundRatios = append(rw.RoundRatios, r.Rate/ref.Rate)
		}
		if c := ref.cpuPerUnit(); c > 0 {
			cpu = append(cpu, float64(r.cpuPerUnit())/float64(c))
		}
		if ref.PeakRSS > 0 {
			rss = append(rss, float64(r.PeakRSS)/float64(ref.PeakRSS))
		}
		if ref.PeakAnon > 0 {
			anon = append(anon, float64(r.PeakAnon)/float64(ref.PeakAnon))
		}
	}
	if len(rw.RoundRatios) > 0 {
		rw.Ratio = median(rw.RoundRatios)
		rw.RatioMin = slices.Min(rw.RoundRatios)
		rw.RatioMax = slices.Max(rw.RoundRatios)
	}
	if len(cpu) > 0 {
		rw.CPURatio, rw.CPURatioMin, rw.CPURatioMax = median(cpu), slices.Min(cpu), slices.Max(cpu)
	}
	if len(rss) > 0 {
		rw.RSSRatio, rw.RSSRatioMin, rw.RSSRatioMax = median(rss), slices.Min(rss), slices.Max(rss)
	}
	if len(anon) > 0 {
		rw.AnonRatio, rw.AnonRatioMin, rw.AnonRatioMax = median(anon), slices.Min(anon), slices.Max(anon)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianDuration(ds []time.Duration) time.Duration {
	fs := make([]float64, len(ds))
	for i, d := range ds {
		fs[i] = float64(d)
	}
	return time.Duration(median(fs))
}

// percentile returns the p-th percentile (0..100) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}

// printTable writes the human-readable report.
func (rep *report) printTable(w io.Writer) {
	a, b := rep.Servers[0], rep.Servers[1]
	fmt.Fprintln(w)
	for _, name := range rep.Servers {
		fmt.Fprintf(w, "%-12s %s\n", name+":", rep.Versions[name])
	}
	fmt.Fprintf(w, "rounds: %v, order alternating; rates and CPU/unit are medians of rounds; "+
		"ratio = median of per-round %s/%s (min-max); RSS = peak VmHWM, anon = peak RssAnon (private memory)\n\n", rep.Config["rounds"], a, b)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\tunit\t%s\t%s\tratio\t(min-max)\t%s RSS\t%s RSS\t%s CPU/unit\t%s CPU/unit\tCPU ratio\t(min-max)\t%s anon\t%s anon\tRSS ratio\t(min-max)\tanon ratio\t(min-max)\tclient CPU/unit (%s)\t(%s)\tsched-ins/1k (%s)\t(%s)\t\n", a, b, a, b, a, b, a, b, a, b, a, b)
	var notes []string
	for _, rw := range rep.Rows {
		cells := []string{rw.Scenario, rw.Unit}
		for _, s := range rw.Servers {
			cells = append(cells, rateCell(s))
		}
		if rw.Ratio > 0 {
			cells = append(cells, fmt.Sprintf("%.2fx", rw.Ratio), fmt.Sprintf("(%.2f-%.2f)", rw.RatioMin, rw.RatioMax))
		} else {
			cells = append(cells, "n/a", "")
		}
		for _, s := range rw.Servers {
			cells = append(cells, rssCell(s))
		}
		for _, s := range rw.Servers {
			cells = append(cells, cpuCell(s))
		}
		if rw.CPURatio > 0 {
			cells = append(cells, fmt.Sprintf("%.2f", rw.CPURatio), fmt.Sprintf("(%.2f-%.2f)", rw.CPURatioMin, rw.CPURatioMax))
		} else {
			cells = append(cells, "-", "")
		}
		for _, s := range rw.Servers {
			cells = append(cells, mbCell(s.PeakAnon))
		}
		cells = append(cells, ratioCells(rw.RSSRatio, rw.RSSRatioMin, rw.RSSRatioMax)...)
		cells = append(cells, ratioCells(rw.AnonRatio, rw.AnonRatioMin, rw.AnonRatioMax)...)
		for _, s := range rw.Servers {
			cells = append(cells, durCell(s, serverRun.clientCPUPerUnit))
		}
		for _, s := range rw.Servers {
			cells = append(cells, schedCell(s))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		for _, s := range rw.Servers {
			if s.NA != "" {
				notes = append(notes, fmt.Sprintf("%s/%s: n/a: %s", rw.Scenario, s.Server, s.NA))
			}
			for _, r := range s.Runs {
				if r.Error != "" {
					notes = append(notes, fmt.Sprintf("%s/%s round %d: ERROR %s", rw.Scenario, s.Server, r.Round, r.Error))
				} else if r.Note != "" {
					notes = append(notes, fmt.Sprintf("%s/%s round %d: %s", rw.Scenario, s.Server, r.Round, r.Note))
				}
			}
		}
	}
	tw.Flush()
	rep.printLatency(w)
	if rep.Floor != nil {
		rep.Floor.print(w)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
}

// printLatency writes request latencies for scenarios that measure them.
func (rep *report) printLatency(w io.Writer) {
	header := false
	for _, rw := range rep.Rows {
		for _, s := range rw.Servers {
			var p50, p99 []time.Duration
			for _, r := range s.ok() {
				if r.P50us > 0 {
					p50 = append(p50, time.Duration(r.P50us*1e3))
					p99 = append(p99, time.Duration(r.P99us*1e3))
				}
			}
			if len(p50) == 0 {
				continue
			}
			if !header {
				fmt.Fprintln(w, "\nlatency (median of rounds):")
				header = true
			}
			fmt.Fprintf(w, "  %-14s %-12s p50 %10s   p99 %10s\n", rw.Scenario, s.Server,
				medianDuration(p50).Round(time.Microsecond), medianDuration(p99).Round(time.Microsecond))
		}
	}
}

func rateCell(s *serverSummary) string {
	if s.NA != "" || len(s.ok()) == 0 {
		return "n/a"
	}
	return humanRate(s.MedianRate)
}

func rssCell(s *serverSummary) string { return mbCell(s.PeakRSS) }

func mbCell(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func ratioCells(med, lo, hi float64) []string {
	if med == 0 {
		return []string{"-", ""}
	}
	return []string{fmt.Sprintf("%.2f", med), fmt.Sprintf("(%.2f-%.2f)", lo, hi)}
}

func cpuCell(s *serverSummary) string { return durCell(s, serverRun.cpuPerUnit) }

// durCell is the median over s's runs of a per-unit CPU time.
func durCell(s *serverSummary, per func(serverRun) time.Duration) string {
	var ds []time.Duration
	for _, r := range s.ok() {
		if d := per(r); d > 0 {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return "-"
	}
	d := medianDuration(ds)
	if d < 10*time.Microsecond {
		return fmt.Sprintf("%.2fµs", float64(d)/1e3)
	}
	return d.Round(time.Microsecond).String()
}

// schedCell is the median over s's runs of the server's schedule-ins per
// 1,000 units.
func schedCell(s *serverSummary) string {
	var xs []float64
	for _, r := range s.ok() {
		if x := r.schedInsPerK(); x > 0 {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", median(xs))
}

// humanRate prints a rate with thousands separators.
func humanRate(r float64) string {
	s := fmt.Sprintf("%d", int64(r+0.5))
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// writeJSON writes the full report, every run included.
func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
