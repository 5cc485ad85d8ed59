package tests

import (
	"net/http"
	"strings"
	"testing"
)

// monitor.token: every monitoring path wants it as a bearer token except
// /healthz and the dashboard page; wren top passes it with --token.
func TestMonitorToken(t *testing.T) {
	d := startOps(t, t.TempDir(), "token = \"t0ken\"\n")
	for path, want := range map[string]int{"/healthz": 200, "/": 200, "/varz": 401, "/metrics": 401, "/jsz": 401, "/connz": 401} {
		if got, _ := d.get(path); got != want {
			t.Errorf("GET %s without the token: %d; want %d", path, got, want)
		}
	}
	for _, path := range []string{"/varz", "/metrics", "/connz"} {
		req, _ := http.NewRequest("GET", d.mon+path, nil)
		req.Header.Set("Authorization", "Bearer t0ken")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s with the token: %d", path, resp.StatusCode)
		}
	}
	_, errOut := cliRun(t, 1, "top", "--once", "--monitor", d.mon)
	if !strings.Contains(errOut, "wants a monitoring token (--token)") {
		t.Errorf("wren top without the token said %q", errOut)
	}
	out, _ := cliRun(t, 0, "top", "--once", "--monitor", d.mon, "--token", "t0ken")
	if !strings.Contains(out, "connections 0") {
		t.Errorf("wren top with the token:\n%s", out)
	}
}
