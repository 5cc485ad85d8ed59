package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// chromium runs headless Chromium on url with extra flags and returns its
// stdout and stderr.
func chromium(t *testing.T, bin, url string, flags ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-extensions", "--disable-background-networking",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		// The page polls every 2s: this much virtual time lets it poll
		// three times, so it has rates as well as totals.
		"--virtual-time-budget=5000"}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, errb.String())
	}
	return out.String(), errb.String()
}

var consoleLine = regexp.MustCompile(`(?m)^.*CONSOLE.*$|^.*Uncaught.*$`)

// The dashboard in a real headless Chromium: it loads with no console
// output at all (no errors, no warnings), its numbers are those of /varz
// and /jsz after known traffic, and a phone-sized screenshot is kept.
func TestDashboardInChromium(t *testing.T) {
	bin := needTool(t, "chromium", "apt-get install -y chromium")
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir))
	knownStreamTraffic(t, d.url)
	pub, _ := nats.Connect(d.url)
	defer pub.Close()
	for range 30 {
		pub.Publish("core.x", []byte("hello"))
	}
	flushNATS(t, pub)

	status, page := d.get("/")
	if status != 200 || len(page) > 30<<10 {
		t.Fatalf("/ status %d, %d bytes; want 200 and at most 30 KB", status, len(page))
	}
	if regexp.MustCompile(`(?i)<script[^>]+src=|<link[^>]+href=|@import|url\(|https?://`).MatchString(page) {
		t.Fatalf("the page loads something from elsewhere")
	}

	dom, logs := chromium(t, bin, d.mon+"/", "--dump-dom")
	if m := consoleLine.FindAllString(logs, -1); len(m) > 0 {
		t.Errorf("console output while loading the dashboard:\n%s", strings.Join(m, "\n"))
	}
	if !strings.Contains(dom, `data-errors="0"`) {
		t.Errorf("the page counted script errors: %.300s", dom[strings.Index(dom, "<body"):])
	}
	if m := regexp.MustCompile(`data-updates="(\d+)"`).FindStringSubmatch(dom); m == nil || m[1] == "0" {
		t.Fatalf("the page never updated from the endpoints:\n%s", dom)
	}

	// What the page shows against what the endpoints say now (no traffic
	// since: the browser speaks HTTP only).
	_, varzBody := d.get("/varz")
	var varz map[string]any
	json.Unmarshal([]byte(varzBody), &varz)
	for _, id := range []string{"connections", "subscriptions", "in_msgs", "out_msgs", "slow_consumers"} {
		want := fmt.Sprint(varz[id])
		if got := textOf(t, dom, id); got != want {
			t.Errorf("dashboard %s = %q; /varz says %s", id, got, want)
		}
	}
	if textOf(t, dom, "connections") != "2" {
		t.Errorf("dashboard shows %s connections; want the test's 2", textOf(t, dom, "connections"))
	}
	_, jszBody := d.get("/jsz")
	var jsz struct {
		Detail []struct {
			Name  string `json:"name"`
			State struct {
				Msgs  uint64 `json:"messages"`
				Bytes uint64 `json:"bytes"`
			} `json:"state"`
			Consumers []struct {
				Name        string `json:"name"`
				Pending     uint64 `json:"num_pending"`
				AckPending  int    `json:"num_ack_pending"`
				DeadLetters uint64 `json:"dead_letters"`
			} `json:"consumer_detail"`
		} `json:"stream_detail"`
	}
	if err := json.Unmarshal([]byte(jszBody), &jsz); err != nil || len(jsz.Detail) != 2 {
		t.Fatalf("/jsz: %v\n%s", err, jszBody)
	}
	for _, s := range jsz.Detail {
		want := fmt.Sprintf(`data-stream="%s" data-msgs="%d" data-bytes="%d"`, s.Name, s.State.Msgs, s.State.Bytes)
		if !strings.Contains(dom, want) {
			t.Errorf("dashboard lacks %s", want)
		}
		for _, c := range s.Consumers {
			want := fmt.Sprintf(`data-consumer="%s/%s" data-pending="%d" data-ack-pending="%d"`, s.Name, c.Name, c.Pending, c.AckPending)
			if !strings.Contains(dom, want) {
				t.Errorf("dashboard lacks %s", want)
			}
			if c.DeadLetters > 0 && !strings.Contains(dom, fmt.Sprintf(`data-dead="%s/%s" data-count="%d"`, s.Name, c.Name, c.DeadLetters)) {
				t.Errorf("dashboard lacks the %d dead letters of %s/%s", c.DeadLetters, s.Name, c.Name)
			}
		}
	}
	// The known traffic, spelled out: 10 in JOBS, 6 behind on w, 1 dead
	// letter in DLQ.
	for _, want := range []string{`data-stream="JOBS" data-msgs="10"`, `data-consumer="JOBS/w" data-pending="6" data-ack-pending="1"`,
		`data-dead="JOBS/w" data-count="1"`, `data-dlq="DLQ" data-count="1"`, `id="store">ok<`, `>healthy<`} {
		if !strings.Contains(dom, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}

	// The screenshot is taken while messages flow, so the chart has a line.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				pub.Publish("core.x", []byte("hello"))
			}
		}
	}()
	shot := filepath.Join(t.ArtifactDir(), "dashboard-phone.png")
	chromium(t, bin, d.mon+"/", "--screenshot="+shot, "--window-size=412,1400", "--hide-scrollbars")
	close(stop)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10<<10 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

// textOf returns the text of the element with the given id in dom.
func textOf(t *testing.T, dom, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no element %s in the page", id)
	}
	return m[1]
}
