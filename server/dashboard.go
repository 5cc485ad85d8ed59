package server

import (
	"bytes"
	"compress/flate"
	_ "embed"
	"io"
	"net/url"
	"sync"
)

// The dashboard is one self-contained page (no external scripts, styles
// or fonts) that polls /varz, /jsz, /healthz and /uplinkz every two
// seconds and shows message rates over the last five minutes,
// connections, each stream's depth, each consumer's lag, dead letters,
// store health and the uplink's links and forwards. With monitor.token set it asks for the token (or takes
// it from the address, /#token=...) and keeps it in the browser tab.
//
// The binary carries the page deflated (a third of its size: 8 KB less
// on every edge build) and inflates it once, when it is first asked for.
// dashboard.html is the page's source; after editing it, run
// `go test ./server -run TestDashboardDeflated -update` to rewrite
// dashboard.html.deflate (the test fails while the two differ).
//
//go:embed dashboard.html.deflate
var dashboardDeflated []byte

var (
	dashboardOnce sync.Once
	dashboardPage []byte
	dashboardErr  error
)

// dashboardHTML returns the page, inflated on first use.
func dashboardHTML() ([]byte, error) {
	dashboardOnce.Do(func() {
		r := flate.NewReader(bytes.NewReader(dashboardDeflated))
		dashboardPage, dashboardErr = io.ReadAll(r)
		r.Close()
	})
	return dashboardPage, dashboardErr
}

// dashboardHeaders keep the page from loading anything but its own data
// and from being framed by another site.
const dashboardHeaders = "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n" +
	"X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"

func dashboardRoute(url.Values) httpReply {
	page, err := dashboardHTML()
	if err != nil {
		return httpReply{status: 500, ctype: "text/plain; charset=utf-8", body: []byte("the dashboard page is damaged in this binary: " + err.Error() + "\n")}
	}
	return httpReply{status: 200, ctype: "text/html; charset=utf-8", body: page, headers: dashboardHeaders}
}
