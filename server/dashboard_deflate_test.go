package server

import (
	"bytes"
	"compress/flate"
	"flag"
	"os"
	"testing"
)

var updateDashboard = flag.Bool("update", false, "rewrite dashboard.html.deflate from dashboard.html")

// The page the binary serves is dashboard.html as it stands in the tree:
// the deflated copy that is embedded inflates to exactly its bytes.
func TestDashboardDeflated(t *testing.T) {
	src, err := os.ReadFile("dashboard.html")
	if err != nil {
		t.Fatal(err)
	}
	if *updateDashboard {
		var b bytes.Buffer
		w, err := flate.NewWriter(&b, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(src)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("dashboard.html.deflate", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("dashboard.html.deflate: %d bytes for %d", b.Len(), len(src))
		return
	}
	page, err := dashboardHTML()
	if err != nil {
		t.Fatalf("the embedded page does not inflate: %v", err)
	}
	if !bytes.Equal(page, src) {
		t.Fatalf("the embedded page (%d bytes) differs from dashboard.html (%d bytes): run go test ./server -run TestDashboardDeflated -update", len(page), len(src))
	}
	r := dashboardRoute(nil)
	if r.status != 200 || !bytes.Equal(r.body, src) {
		t.Fatalf("dashboard route: status %d, %d bytes; want 200 and the page", r.status, len(r.body))
	}
}
