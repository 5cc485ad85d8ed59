package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/jetstore"
)

// uplinkDaemon runs the wren binary with an uplink configuration.
type uplinkDaemon struct {
	*daemon
	out *wrenProc
}

// startUplinkDaemon runs wren with the configuration file cfg and waits
// until it accepts clients.
func startUplinkDaemon(t testing.TB, cfg string) *uplinkDaemon {
	t.Helper()
	bin, err := buildWren()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cfg)
	out := &wrenProc{t: t, cmd: cmd}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(d.kill)
	waitUntil(t, func() error {
		select {
		case <-d.exited:
			t.Fatalf("daemon exited before it started:\n%s", out.logText())
		default:
		}
		text := out.logText()
		i := strings.Index(text, "wren started")
		if i < 0 {
			return fmt.Errorf("not started:\n%s", text)
		}
		m := startedURL.FindStringSubmatch(text[i:])
		if m == nil {
			t.Fatalf("no url in the start line:\n%s", text)
		}
		d.url = m[1]
		return nil
	})
	return &uplinkDaemon{d, out}
}

// uplinkConfig writes a gateway configuration: streams in dir, one remote
// at leafURL, SENSORS forwarded to the hub stream SITES.
func uplinkConfig(t testing.TB, dir, name, leafURL string, monitorPort int) string {
	t.Helper()
	cfg := fmt.Sprintf(`host = "127.0.0.1"
port = 0
server_name = %q
[monitor]
port = %d
[jetstream]
enabled = true
store_dir = %q
[leafnodes]
reconnect = "50ms"
reconnect_max = "500ms"
ping_interval = "1s"
[[leafnodes.remotes]]
urls = [%q]
[[leafnodes.forwards]]
stream = "SENSORS"
subject = "sensors.>"
upstream = "site.%s.sensors.>"
hub_stream = "SITES"
hub_domain = "hub"
ack_wait = "1s"
`, name, monitorPort, filepath.Join(dir, "store"), leafURL, name)
	p := filepath.Join(dir, "wren.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// localSensors creates the gateway's SENSORS stream.
func localSensors(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "SENSORS", Subjects: []string{"sensors.>"}}); err != nil {
		t.Fatal(err)
	}
	return nc
}

// hubHolds returns how many messages of gateway name the hub stream
// holds, or -1 while it cannot say.
func hubHolds(js jetstream.JetStream, name string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "SITES")
	if err != nil {
		return -1
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("site."+name+".>"))
	if err != nil {
		return -1
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// The outage: the hub stores a window of messages whose acks never reach
// the gateway; the gateway is killed with SIGKILL and restarted, takes
// the rest of 10,000 messages while the hub is down, the outage outlasts
// the hub's 2s duplicate window, and the hub comes back: it holds exactly
// the 10,000, in order, without duplicates.
func TestForwardOutageExactlyOnce(t *testing.T) {
	base := t.TempDir()
	hubDir := filepath.Join(base, "hub")
	ho := proxiedHubOpts(t, "hub", hubDir)
	hub := startHub(t, ho)
	hjs := hubStream(t, hub, 1, 2*time.Second)
	proxy := startProxy(t, fmt.Sprintf("127.0.0.1:%d", ho.LeafNode.Port))
	mon := freePort(t)
	cfg := uplinkConfig(t, base, "gw17", "nats-leaf://"+proxy.addr(), mon)
	gw := startUplinkDaemon(t, cfg)
	nc := localSensors(t, gw.url)
	waitHubForwarder(t, hub)
	waitUntil(t, func() error {
		if z := uplinkzDoc(t, mon); len(z.Forwards) != 1 || z.Forwards[0].HubSyncs < 1 {
			return fmt.Errorf("the forward has not asked the hub yet: %+v", z)
		}
		return nil
	})

	// The hub stores, but its PubAcks are lost on the way back. How much
	// of the window went out before the acks stopped depends on how fast
	// the publishes came: any of it will do.
	proxy.mode.Store(proxyDropDown)
	publishSensors(t, nc, 0, 3000)
	waitUntil(t, func() error {
		if n := hubHolds(hjs, "gw17"); n < 1 {
			return fmt.Errorf("hub holds %d; gateway log:\n%s", n, gw.out.logText())
		}
		return nil
	})
	held := hubHolds(hjs, "gw17")
	gw.kill()
	stored := time.Now()

	// Hub down; the gateway restarts and takes the rest.
	proxy.mode.Store(proxyRefuse)
	proxy.cut()
	hub.Shutdown()
	hub.WaitForShutdown()
	gw = startUplinkDaemon(t, cfg)
	nc = localSensors(t, gw.url)
	publishSensors(t, nc, 3000, 7000)
	// Outlast the duplicate window: the hub can no longer tell a resend.
	if d := 3*time.Second - time.Since(stored); d > 0 {
		time.Sleep(d)
	}
	ho.Port, ho.LeafNode.Port = hub.opts.Port, hub.opts.LeafNode.Port
	hub = startHub(t, ho)
	proxy.mode.Store(proxyPass)
	hjs = hubStream0(t, hub)
	checkHubHolds(t, hjs, "gw17", 10000)
	if !strings.Contains(gw.out.logText(), "already holds") {
		t.Fatalf("the gateway never learnt from the hub what it held (it held %d of ours):\n%s", held, gw.out.logText())
	}
	waitUntil(t, func() error {
		z := uplinkzDoc(t, mon)
		if len(z.Forwards) != 1 || z.Forwards[0].Cursor != 10000 || z.Forwards[0].Waiting != 0 {
			return fmt.Errorf("/uplinkz after the outage: %+v", z)
		}
		return nil
	})
}

// hubStream0 connects to a restarted hub's existing SITES stream.
func hubStream0(t testing.TB, hub *hubServer) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(connectHub(t, hub))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// uplinkz fetches the gateway's /uplinkz.
func uplinkz(t testing.TB, port int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/uplinkz", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// uplinkzDoc fetches and decodes the gateway's /uplinkz.
func uplinkzDoc(t testing.TB, port int) (z struct {
	Forwards []jetstore.ForwardStatus `json:"forwards"`
}) {
	t.Helper()
	if err := json.Unmarshal([]byte(uplinkz(t, port)), &z); err != nil {
		t.Fatal(err)
	}
	return z
}

// freePort returns a loopback port nothing listens on.
func freePort(t testing.TB) int {
	t.Helper()
	a := freeAddr(t)
	var p int
	fmt.Sscanf(a[strings.LastIndex(a, ":")+1:], "%d", &p)
	return p
}
