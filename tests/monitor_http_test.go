package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/wrenmq/wren/server"
)

// startMonitored starts a broker with its monitoring endpoints on a free
// port and returns the monitoring base URL.
func startMonitored(t *testing.T) (*server.Server, string) {
	t.Helper()
	s := startCoreServer(t, server.Options{})
	addr, err := s.StartMonitoring("127.0.0.1", 0)
	if err != nil {
		t.Fatalf("StartMonitoring: %v", err)
	}
	return s, "http://" + addr.String()
}

func getJSON(t *testing.T, c *http.Client, url string, into any) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v in %q", url, err, body)
		}
	}
	return resp
}

// The counters a dashboard reads move with the traffic real clients make,
// and one keep-alive HTTP connection serves a scraper's repeated requests.
func TestMonitorEndpointsOverHTTP(t *testing.T) {
	s, base := startMonitored(t)
	hc := &http.Client{Timeout: testTimeout}

	var health map[string]string
	if resp := getJSON(t, hc, base+"/healthz", &health); resp.StatusCode != 200 || health["status"] != "ok" {
		t.Fatalf("/healthz = %d %v; want 200 status ok", resp.StatusCode, health)
	}

	pub := connectNATS(t, s, nats.Name("publisher"))
	sub := connectNATS(t, s, nats.Name("subscriber"))
	ch := make(chan *nats.Msg, 100)
	if _, err := sub.ChanSubscribe("telemetry.>", ch); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, sub)
	for i := range 10 {
		if err := pub.Publish(fmt.Sprintf("telemetry.%d", i), []byte("12345")); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, pub, sub)
	for range 10 {
		<-ch
	}

	var v server.Varz
	resp := getJSON(t, hc, base+"/varz", &v)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("/varz = %d %q; want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if v.Connections != 2 || v.InMsgs != 10 || v.OutMsgs != 10 || v.InBytes != 50 || v.OutBytes != 50 || v.Subscriptions != 1 {
		t.Errorf("/varz connections, in/out msgs, in/out bytes, subscriptions = %d, %d/%d, %d/%d, %d; want 2, 10/10, 50/50, 1",
			v.Connections, v.InMsgs, v.OutMsgs, v.InBytes, v.OutBytes, v.Subscriptions)
	}

	var cz server.Connz
	getJSON(t, hc, base+"/connz?subs=1", &cz)
	if cz.NumConnections != 2 || len(cz.Connections) != 2 {
		t.Fatalf("/connz num_connections %d with %d entries; want 2", cz.NumConnections, len(cz.Connections))
	}
	byName := map[string]server.ConnInfo{}
	for _, c := range cz.Connections {
		byName[c.Name] = c
	}
	if c := byName["subscriber"]; c.OutMsgs != 10 || c.Subscriptions != 1 {
		t.Errorf("/connz subscriber out_msgs %d, subscriptions %d; want 10, 1", c.OutMsgs, c.Subscriptions)
	}
	if c := byName["publisher"]; c.InMsgs != 10 {
		t.Errorf("/connz publisher in_msgs %d; want 10", c.InMsgs)
	}
	getJSON(t, hc, base+"/connz?limit=1&offset=1", &cz)
	if len(cz.Connections) != 1 || cz.Offset != 1 || cz.Limit != 1 || cz.Total != 2 {
		t.Errorf("/connz?limit=1&offset=1: %d entries, offset %d, limit %d, total %d; want 1, 1, 1, 2",
			len(cz.Connections), cz.Offset, cz.Limit, cz.Total)
	}

	var sz server.Subsz
	getJSON(t, hc, base+"/subsz", &sz)
	if sz.NumSubscriptions != 1 {
		t.Errorf("/subsz num_subscriptions = %d; want 1", sz.NumSubscriptions)
	}

	// No stream layer on a core server: /jsz says so with 503.
	if resp := getJSON(t, hc, base+"/jsz", nil); resp.StatusCode != 503 {
		t.Errorf("/jsz without the stream layer = %d; want 503", resp.StatusCode)
	}
	if resp := getJSON(t, hc, base+"/nope", nil); resp.StatusCode != 404 {
		t.Errorf("/nope = %d; want 404", resp.StatusCode)
	}
	resp, err := hc.Post(base+"/varz", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 && resp.StatusCode != 413 {
		t.Errorf("POST /varz = %d; want 405 or 413 (no bodies taken)", resp.StatusCode)
	}
	req, _ := http.NewRequest("HEAD", base+"/varz", nil)
	if resp, err := hc.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.StatusCode != 200 || resp.ContentLength <= 0 {
		resp.Body.Close()
		t.Errorf("HEAD /varz = %d with length %d; want 200 and the GET body's length", resp.StatusCode, resp.ContentLength)
	} else {
		resp.Body.Close()
	}

	// A scraper's keep-alive connection is reused, not redialled.
	dials := 0
	kc := &http.Client{Timeout: testTimeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials++
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	for range 5 {
		if resp := getJSON(t, kc, base+"/healthz", nil); resp.StatusCode != 200 {
			t.Fatalf("/healthz = %d", resp.StatusCode)
		}
	}
	if dials != 1 {
		t.Errorf("5 requests on a keep-alive client took %d connections; want 1", dials)
	}
}

// /healthz answers 503 with the reason while a registered check fails (the
// stream layer registers one that names streams whose store fails
// writes), and 200 again once it passes.
func TestMonitorHealthzReportsFailure(t *testing.T) {
	s, base := startMonitored(t)
	hc := &http.Client{Timeout: testTimeout}
	var failing error
	var mu sync.Mutex
	s.SetHealthCheck(func() error {
		mu.Lock()
		defer mu.Unlock()
		return failing
	})
	var h map[string]string
	if resp := getJSON(t, hc, base+"/healthz", &h); resp.StatusCode != 200 || h["status"] != "ok" {
		t.Fatalf("/healthz while the check passes = %d %v; want 200 ok", resp.StatusCode, h)
	}
	mu.Lock()
	failing = errors.New(`stream "T": storage write failed: no space left on device`)
	mu.Unlock()
	h = nil
	if resp := getJSON(t, hc, base+"/healthz", &h); resp.StatusCode != 503 || h["status"] != "unavailable" ||
		h["error"] != `stream "T": storage write failed: no space left on device` {
		t.Fatalf("/healthz while the check fails = %d %v; want 503 unavailable with the reason", resp.StatusCode, h)
	}
	mu.Lock()
	failing = nil
	mu.Unlock()
	if resp := getJSON(t, hc, base+"/healthz", nil); resp.StatusCode != 200 {
		t.Fatalf("/healthz after recovery = %d; want 200", resp.StatusCode)
	}
}
