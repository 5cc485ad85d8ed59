package tests

import (
	"encoding/json"
	"testing"
)

// TestJSRequestQueueLimitConfigured runs the daemon binary with
// jetstream.request_queue_limit and info_queue_limit set, and checks /jsz
// reports the bounds in force, and that without them it reports the
// defaults (4,096 for both lanes).
func TestJSRequestQueueLimitConfigured(t *testing.T) {
	for _, tt := range []struct {
		name, keys     string
		wantReq, wantI int
	}{
		{"set", "request_queue_limit = 100\ninfo_queue_limit = 20\n", 100, 20},
		{"default", "", 4096, 4096},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			body := "host = \"127.0.0.1\"\nport = 0\n[jetstream]\nenabled = true\nstore_dir = \"" + dir + "/store\"\n" + tt.keys +
				"[monitor]\nhost = \"127.0.0.1\"\nport = -1\n"
			p := startWren(t, "-c", writeFile(t, dir, "wren.toml", body))
			var jsz struct {
				Config struct {
					Req  int `json:"request_queue_limit"`
					Info int `json:"info_queue_limit"`
				} `json:"config"`
			}
			if err := json.Unmarshal([]byte(monGet(t, p, "/jsz")), &jsz); err != nil {
				t.Fatal(err)
			}
			if jsz.Config.Req != tt.wantReq || jsz.Config.Info != tt.wantI {
				t.Errorf("/jsz config request_queue_limit %d, info_queue_limit %d; want %d and %d",
					jsz.Config.Req, jsz.Config.Info, tt.wantReq, tt.wantI)
			}
		})
	}
}
