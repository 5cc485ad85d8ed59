package server

import (
	"math"
	"strconv"
	"strings"
)

// PromWriter writes the Prometheus text exposition format (version
// 0.0.4): for each metric family a # HELP and a # TYPE line, then its
// samples. It is a few dozen lines instead of a metrics library: the
// smallest library that writes this format (with its HTTP push support)
// added 0.59 MB to the linux/arm64 binary, the reference client 3.7 MB.
//
// Families must be written whole, one after another; a family whose name
// was written already is not written again, so two sources cannot produce
// a duplicate family that scrapers would reject.
type PromWriter struct {
	b    []byte
	seen map[string]bool
	skip bool // the current family was a duplicate
}

// Metric types.
const (
	PromCounter   = "counter"
	PromGauge     = "gauge"
	PromHistogram = "histogram"
	PromSummary   = "summary"
)

// Family starts the metric family name of type typ.
func (w *PromWriter) Family(name, typ, help string) {
	if w.seen == nil {
		w.seen = make(map[string]bool)
	}
	if w.skip = w.seen[name]; w.skip {
		return
	}
	w.seen[name] = true
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = appendEscaped(w.b, help, false)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '\n')
}

// Sample writes one sample of the current family; labels are name, value
// pairs. Name is the family's name, or with a histogram's or summary's
// suffix (_bucket, _sum, _count).
func (w *PromWriter) Sample(name string, v float64, labels ...string) {
	if w.skip {
		return
	}
	w.b = append(w.b, name...)
	if len(labels) >= 2 {
		w.b = append(w.b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, labels[i]...)
			w.b = append(w.b, `="`...)
			w.b = appendEscaped(w.b, labels[i+1], true)
			w.b = append(w.b, '"')
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ' ')
	w.b = appendPromFloat(w.b, v)
	w.b = append(w.b, '\n')
}

// One writes a family with a single unlabelled sample.
func (w *PromWriter) One(name, typ, help string, v float64) {
	w.Family(name, typ, help)
	w.Sample(name, v)
}

// Histogram writes a histogram family with no labels: bounds are the
// buckets' upper bounds, counts how many observations fell at or under
// each (cumulative), count and sum those of all observations.
func (w *PromWriter) Histogram(name, help string, bounds []float64, counts []uint64, count uint64, sum float64) {
	w.Family(name, PromHistogram, help)
	for i, le := range bounds {
		w.Sample(name+"_bucket", float64(counts[i]), "le", string(appendPromFloat(nil, le)))
	}
	w.Sample(name+"_bucket", float64(count), "le", "+Inf")
	w.Sample(name+"_sum", sum)
	w.Sample(name+"_count", float64(count))
}

// Bytes returns what was written.
func (w *PromWriter) Bytes() []byte { return w.b }

func appendPromFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendEscaped escapes a HELP text (backslash, newline) or a label value
// (also the double quote).
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}
