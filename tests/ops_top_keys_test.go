package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wren top in a real terminal (tmux) reads single keys: another key
// leaves it running, q quits it, and the terminal is given back as it
// was (canonical mode and echo on again, as stty shows after it exits).
func TestTopQuitsOnQ(t *testing.T) {
	tmux := needTool(t, "tmux", "apt-get install -y tmux")
	dir := t.TempDir()
	d := startOps(t, dir, "")
	stty := filepath.Join(dir, "stty.txt")

	sock := "wren-topq-" + strconv.Itoa(time.Now().Nanosecond())
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	script := fmt.Sprintf("%s top --monitor %s --interval 200ms; echo exit=$? > %s.code; stty -a > %s", wrenPath(t), d.mon, stty, stty)
	if out, err := tm("new-session", "-d", "-s", "topq", "-x", "120", "-y", "40", "sh", "-c", script); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { tm("kill-server") })
	screen := func() string {
		out, _ := tm("capture-pane", "-p", "-t", "topq")
		return out
	}
	uptime := regexp.MustCompile(`up (\S+)`)
	var first string
	waitUntil(t, func() error {
		s := screen()
		m := uptime.FindStringSubmatch(s)
		if m == nil || !strings.Contains(s, "q or Ctrl-C quits") {
			return fmt.Errorf("no view yet:\n%s", s)
		}
		first = m[1]
		return nil
	})

	// Another key: top goes on drawing.
	tm("send-keys", "-t", "topq", "x")
	waitUntil(t, func() error {
		s := screen()
		if m := uptime.FindStringSubmatch(s); m == nil || m[1] == first {
			return fmt.Errorf("no new view since the x key (uptime %s):\n%s", first, s)
		}
		return nil
	})
	if _, err := os.Stat(stty + ".code"); err == nil {
		t.Fatalf("wren top exited on the x key")
	}

	tm("send-keys", "-t", "topq", "q")
	waitUntil(t, func() error {
		if _, err := os.Stat(stty); err != nil {
			return fmt.Errorf("wren top still running after q:\n%s", screen())
		}
		return nil
	})
	code, _ := os.ReadFile(stty + ".code")
	if strings.TrimSpace(string(code)) != "exit=0" {
		t.Errorf("wren top after q: %s", code)
	}
	var modes string
	waitUntil(t, func() error {
		b, _ := os.ReadFile(stty)
		if modes = string(b); !strings.Contains(modes, "icanon") {
			return fmt.Errorf("stty -a not written yet: %q", modes)
		}
		return nil
	})
	for _, mode := range []string{"icanon", "echo"} {
		if !regexp.MustCompile(`(^|\s)` + mode + `(\s|$)`).MatchString(modes) {
			t.Errorf("the terminal was left without %s after wren top:\n%s", mode, modes)
		}
	}
}
