package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// /varz reports the daemon's CPU use and resident memory as nats-server
// does ("cpu" in percent of one core over the last second or more, "mem"
// the resident set in bytes), so `nats server list` and dashboards built
// for nats-server show real figures: both agree with what the kernel says
// of the process over the same stretch of traffic.
func TestVarzCPUAndMem(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	d := startOps(t, t.TempDir(), "")
	pid := d.cmd.Process.Pid
	type varz struct {
		CPU float64 `json:"cpu"`
		Mem int64   `json:"mem"`
	}
	read := func() varz {
		t.Helper()
		status, body := d.get("/varz")
		if status != 200 {
			t.Fatalf("/varz status %d", status)
		}
		var v varz
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	// The first answer opens a window; the traffic then keeps the daemon
	// busy for a while longer than one window.
	read()
	t0, c0 := time.Now(), procCPU(t, pid)
	sub, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := 0
	sub.Subscribe("load.>", func(*nats.Msg) { got++ })
	flushNATS(t, sub)
	pub, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	payload := make([]byte, 512)
	for time.Since(t0) < 1500*time.Millisecond {
		for range 1000 {
			pub.Publish("load.x", payload)
		}
		flushNATS(t, pub)
	}
	flushNATS(t, sub)
	v := read()
	t1, c1 := time.Now(), procCPU(t, pid)
	rss := procRSS(t, pid)

	want := 100 * (c1 - c0).Seconds() / t1.Sub(t0).Seconds()
	t.Logf("/varz cpu %.1f%%, from /proc %.1f%%; mem %d, VmRSS %d", v.CPU, want, v.Mem, rss)
	if want < 5 {
		t.Fatalf("the traffic kept the daemon at only %.1f%% of a core; the check needs more", want)
	}
	if diff := v.CPU - want; v.CPU <= 0 || diff > 15+0.3*want || -diff > 15+0.3*want {
		t.Errorf("/varz cpu %.1f%%; the kernel counted %.1f%% over the same traffic", v.CPU, want)
	}
	if v.Mem < rss*4/5 || v.Mem > rss*5/4 {
		t.Errorf("/varz mem %d bytes; VmRSS is %d", v.Mem, rss)
	}

	// Within a second of the last answer the figure is repeated, not
	// remeasured over a sliver of time.
	if again := read(); again.CPU != v.CPU && time.Since(t1) < 500*time.Millisecond {
		t.Errorf("/varz cpu %.1f%% right after %.1f%%; want the same figure within a window", again.CPU, v.CPU)
	}
}

// procCPU returns the user plus system CPU time the kernel has counted for
// a process (Linux, in clock ticks of 1/100 s).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which may hold spaces: state is
	// the first of them, utime and stime the 12th and 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		t.Fatalf("short /proc/%d/stat: %q", pid, b)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
