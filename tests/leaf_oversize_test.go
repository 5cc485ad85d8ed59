package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A stored message larger than the hub's max_payload (read from the
// link's INFO) stops the forward at it: /uplinkz and /metrics say which
// message and why, the ones before it reach the hub and none after it is
// sent. When the hub comes back with a larger max_payload, the link's
// reconnect lets it through and every message lands once, in order.
func TestForwardStopsAtHubMaxPayload(t *testing.T) {
	base := t.TempDir()
	ho := hubOpts(t, "hub", filepath.Join(base, "hub"))
	ho.MaxPayload = 4096
	hub := startHub(t, ho)
	hjs := hubStream(t, hub, 1, time.Minute)
	mon := freePort(t)
	gw := startUplinkDaemon(t, uplinkConfig(t, base, "gw17", hubLeafURL(t, hub).String(), mon))
	nc := localSensors(t, gw.url)
	waitHubForwarder(t, hub)
	ljs, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	for i := 0; i < 7; i++ {
		data := []byte(fmt.Sprint(i))
		if i == 3 {
			data = append(data, make([]byte, 8000)...)
		}
		if _, err := ljs.Publish(ctx, fmt.Sprintf("sensors.line%d.temp", i%4), data); err != nil {
			t.Fatal(err)
		}
	}
	const reason = "message 4 is "
	waitUntil(t, func() error {
		z := uplinkzDoc(t, mon)
		if len(z.Forwards) != 1 {
			return fmt.Errorf("/uplinkz: %+v", z)
		}
		f := z.Forwards[0]
		if f.Cursor != 3 || f.OverMaxPayload != 1 || !strings.HasPrefix(f.LastError, reason) ||
			!strings.HasSuffix(f.LastError, " bytes, over the hub's max_payload 4096") {
			return fmt.Errorf("/uplinkz forward: %+v", f)
		}
		return nil
	})
	if n := hubHolds(hjs, "gw17"); n != 3 {
		t.Fatalf("hub holds %d messages; want the 3 before the large one", n)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", mon))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `wren_forward_over_max_payload_total{hub_stream="SITES",stream="SENSORS"} 1`; !strings.Contains(string(text), want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, text)
	}
	if n := strings.Count(gw.out.logText(), reason); n != 1 {
		t.Fatalf("the large message was logged %d times, want once:\n%s", n, gw.out.logText())
	}

	// The hub comes back allowing 64 KiB.
	hub.Shutdown()
	hub.WaitForShutdown()
	ho.Port, ho.LeafNode.Port = hub.opts.Port, hub.opts.LeafNode.Port
	ho.MaxPayload = 64 << 10
	hub = startHub(t, ho)
	hjs = hubStream0(t, hub)
	waitUntil(t, func() error {
		if n := hubHolds(hjs, "gw17"); n != 7 {
			return fmt.Errorf("hub holds %d, want 7", n)
		}
		return nil
	})
	st, err := hjs.Stream(ctx, "SITES")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		m, err := st.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Data) == 0 || m.Data[0] != byte('0'+i) || (i == 3) != (len(m.Data) > 8000) {
			t.Fatalf("hub message %d holds %d bytes starting %q; want message %d", i+1, len(m.Data), m.Data[:min(len(m.Data), 8)], i)
		}
	}
	waitUntil(t, func() error {
		z := uplinkzDoc(t, mon)
		if f := z.Forwards[0]; f.Cursor != 7 || f.Waiting != 0 || f.OverMaxPayload != 1 {
			return fmt.Errorf("/uplinkz forward after the limit was raised: %+v", f)
		}
		return nil
	})
}
