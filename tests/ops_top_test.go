package tests

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// wren top in a real terminal (tmux): it draws the daemon's state from the
// monitoring port, shows message rates while traffic flows, and quits on
// Ctrl-C.
func TestTopInTmux(t *testing.T) {
	tmux := needTool(t, "tmux", "apt-get install -y tmux")
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir))
	knownStreamTraffic(t, d.url)

	sock := "wren-top-" + strconv.Itoa(time.Now().Nanosecond())
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tm("new-session", "-d", "-s", "top", "-x", "120", "-y", "40",
		wrenPath(t)+" top --monitor "+d.mon+" --interval 200ms"); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { tm("kill-server") })
	screen := func() string {
		out, _ := tm("capture-pane", "-p", "-t", "top")
		return out
	}

	// Traffic while top watches: rates above zero show up.
	pub, _ := nats.Connect(d.url)
	defer pub.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				pub.Publish("core.rate", []byte("x"))
			}
		}
	}()
	rateRe := regexp.MustCompile(`(?m)^in  ([0-9.]+) msg/s`)
	waitUntil(t, func() error {
		s := screen()
		for _, want := range []string{"wren ", "connections 2", "%  memory ", "uplink not configured"} {
			if !strings.Contains(s, want) {
				return fmt.Errorf("screen lacks %q:\n%s", want, s)
			}
		}
		for _, re := range []string{`(?m)^JOBS\s+10\s+\S+ B\s+10\s+2\s+ok$`, `(?m)^DLQ\s+1\s`, `(?m)^JOBS\s+w\s+6\s+1\s+0\s+1$`, `(?m)^JOBS\s+idle\s+10\s+0\s+0\s+0$`} {
			if !regexp.MustCompile(re).MatchString(s) {
				return fmt.Errorf("screen lacks %s:\n%s", re, s)
			}
		}
		m := rateRe.FindStringSubmatch(s)
		if m == nil {
			return fmt.Errorf("no rate line:\n%s", s)
		}
		if r, _ := strconv.ParseFloat(m[1], 64); r <= 0 {
			return fmt.Errorf("rate in is %s while publishing:\n%s", m[1], s)
		}
		return nil
	})
	t.Logf("wren top:\n%s", screen())

	tm("send-keys", "-t", "top", "C-c")
	waitUntil(t, func() error {
		if _, err := tm("has-session", "-t", "top"); err == nil {
			return fmt.Errorf("wren top still running after Ctrl-C:\n%s", screen())
		}
		return nil
	})
}
