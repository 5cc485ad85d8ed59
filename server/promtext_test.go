package server

import (
	"math"
	"testing"
)

func TestPromWriter(t *testing.T) {
	var w PromWriter
	w.Family("wren_x", PromGauge, "A help with \\ and\nnewline.")
	w.Sample("wren_x", 1.5, "stream", `a"b\c`+"\n", "consumer", "c")
	w.Sample("wren_x", math.Inf(1))
	w.Family("wren_x", PromGauge, "again")
	w.Sample("wren_x", 7) // dropped: the family was written already
	w.Histogram("wren_h_seconds", "H.", []float64{0.001, 1}, []uint64{1, 3}, 4, 2.25)
	w.One("wren_big_total", PromCounter, "Big.", 1<<53)
	want := `# HELP wren_x A help with \\ and\nnewline.
# TYPE wren_x gauge
wren_x{stream="a\"b\\c\n",consumer="c"} 1.5
wren_x +Inf
# HELP wren_h_seconds H.
# TYPE wren_h_seconds histogram
wren_h_seconds_bucket{le="0.001"} 1
wren_h_seconds_bucket{le="1"} 3
wren_h_seconds_bucket{le="+Inf"} 4
wren_h_seconds_sum 2.25
wren_h_seconds_count 4
# HELP wren_big_total Big.
# TYPE wren_big_total counter
wren_big_total 9.007199254740992e+15
`
	if got := string(w.Bytes()); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
