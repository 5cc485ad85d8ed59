package tests

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The dashboard and wren top show the uplink from /uplinkz: "not
// configured" without remotes (the other tests), the links that are up
// with one to a real nats-server hub.
func TestDashboardAndTopShowUplink(t *testing.T) {
	bin := needTool(t, "chromium", "apt-get install -y chromium")
	hub := startHub(t, hubOpts(t, "hub", ""))
	dir := t.TempDir()
	d := startOps(t, dir, fmt.Sprintf("\n[[leafnodes.remotes]]\nurls = [%q]\n", hubLeafURL(t, hub).String()))
	waitUntil(t, func() error {
		if _, body := d.get("/uplinkz"); !strings.Contains(body, `"links_connected": 1`) {
			return fmt.Errorf("link not up: %s", body)
		}
		return nil
	})
	out, _ := cliRun(t, 0, "top", "--once", "--monitor", d.mon)
	if !strings.Contains(out, "uplink 1 link(s) up") || !strings.Contains(out, "stream layer off") {
		t.Errorf("wren top --once:\n%s", out)
	}
	dom, logs := chromium(t, bin, d.mon+"/", "--dump-dom")
	if m := consoleLine.FindAllString(logs, -1); len(m) > 0 {
		t.Errorf("console output:\n%s", strings.Join(m, "\n"))
	}
	if !regexp.MustCompile(`id="uplink"[^>]*data-links="1"[^>]*>1 link up<|id="uplink"[^>]*>1 link up<`).MatchString(dom) {
		i := strings.Index(dom, `id="uplink"`)
		t.Errorf("dashboard uplink cell: %.200s", dom[max(i, 0):])
	}
	if !strings.Contains(dom, `>stream layer off<`) {
		t.Errorf("dashboard does not say the stream layer is off")
	}
}
