package server

import (
	_ "embed"
	"net/url"
)

// The dashboard is one self-contained page (no external scripts, styles
// or fonts) that polls /varz, /jsz, /healthz and /uplinkz every two
// seconds and shows message rates over the last five minutes,
// connections, each stream's depth, each consumer's lag, dead letters,
// store health and the uplink's links and forwards. With monitor.token set it asks for the token (or takes
// it from the address, /#token=...) and keeps it in the browser tab.
//
//go:embed dashboard.html
var dashboardHTML []byte

// dashboardHeaders keep the page from loading anything but its own data
// and from being framed by another site.
const dashboardHeaders = "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n" +
	"X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"

func dashboardRoute(url.Values) httpReply {
	return httpReply{status: 200, ctype: "text/html; charset=utf-8", body: dashboardHTML, headers: dashboardHeaders}
}
