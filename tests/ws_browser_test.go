package tests

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/websocket"
)

// natsWSBundle is the NATS JavaScript client's browser bundle, installed by
// npm (see testdata/js/package.json and .ci/run).
const natsWSBundle = "testdata/js/node_modules/nats.ws/esm/nats.js"

const browserPage = `<!doctype html><meta charset="utf-8"><title>wren</title>
<script type="module">
import { connect, StringCodec } from "/nats.js";
const report = (s) => fetch("/result", { method: "POST", body: s });
try {
  const sc = StringCodec();
  const nc = await connect({ servers: "ws://%s" });
  const sub = nc.subscribe("browser.in", { max: 1 });
  await nc.flush();
  await report("ready");
  for await (const m of sub) {
    nc.publish("browser.out", sc.encode("echo:" + sc.decode(m.data)));
  }
  const r = await nc.request("svc.add", sc.encode("2+3"), { timeout: 5000 });
  await report("done:" + sc.decode(r.data));
  await nc.close();
} catch (e) {
  await report("error:" + e);
}
</script>`

// A real browser (headless Chromium) runs the NATS JavaScript client over
// Wren's WebSocket listener, from a page whose origin is allowed: it
// subscribes, answers a message from a TCP client, and calls a service.
func TestWebSocketBrowser(t *testing.T) {
	wl := browserRoundTrip(t, websocket.Options{})
	if s := wl.Stats(); s.CompressedConns != 0 || s.Inflated != 0 || s.Deflated != 0 {
		t.Fatalf("compression is off, yet %+v", s)
	}
}

// With compression on, Chromium (which offers permessage-deflate) gets it:
// its messages arrive compressed and are inflated, the server's long ones
// (INFO) go out compressed, and the same exchange works.
func TestWebSocketBrowserCompressed(t *testing.T) {
	wl := browserRoundTrip(t, websocket.Options{Compression: true, MaxMessage: 1 << 20})
	if s := wl.Stats(); s.CompressedConns != 1 || s.Inflated == 0 || s.Deflated == 0 {
		t.Fatalf("compression stats %+v; want 1 connection with messages compressed both ways", s)
	}
}

// browserRoundTrip runs the page in Chromium against a listener with o
// and returns the listener once the page is done.
func browserRoundTrip(t *testing.T, o websocket.Options) *websocket.Listener {
	chromium := needTool(t, "chromium", "apt-get install -y chromium")
	if _, err := os.Stat(natsWSBundle); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing; .ci/run installs it with: npm ci --prefix tests/testdata/js", natsWSBundle)
		}
		t.Skipf("%s missing; install it with: npm ci --prefix tests/testdata/js", natsWSBundle)
	}
	srv := startCoreServer(t, server.Options{})

	// The page is served from its own origin, which the listener allows.
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + hl.Addr().String()
	o.Host, o.AllowedOrigins, o.NATS = "127.0.0.1", []string{origin}, srv.ServeWebSocket
	wl := websocket.New(o)
	if err := wl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wl.Close() })

	results := make(chan string, 8)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, browserPage, wl.Addr().String())
	})
	mux.HandleFunc("/nats.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, natsWSBundle)
	})
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		results <- string(b)
	})
	hs := &http.Server{Handler: mux}
	go hs.Serve(hl)
	t.Cleanup(func() { hs.Close() })

	nc := connectNATS(t, srv)
	out, _ := nc.SubscribeSync("browser.out")
	nc.Subscribe("svc.add", func(m *nats.Msg) { m.Respond([]byte("5")) })
	nc.Flush()

	cmd := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+filepath.Join(t.TempDir(), "profile"), origin+"/")
	// Its own process group, so that its renderer and helper processes go
	// with it (they write into the profile until they do).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGKILL)
		cmd.Wait()
		deadline := time.Now().Add(testTimeout)
		for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	})
	next := func() string {
		select {
		case r := <-results:
			return r
		case <-time.After(60 * time.Second):
			t.Fatal("the browser reported nothing within 60s")
			return ""
		}
	}
	if r := next(); r != "ready" {
		t.Fatalf("browser: %s", r)
	}
	nc.Publish("browser.in", []byte("hi"))
	if m, err := out.NextMsg(testTimeout); err != nil || string(m.Data) != "echo:hi" {
		t.Fatalf("browser's answer: %v %v", m, err)
	}
	if r := next(); r != "done:5" {
		t.Fatalf("browser: %s", r)
	}
	if !strings.HasPrefix(origin, "http://127.0.0.1:") {
		t.Fatalf("origin %s", origin)
	}
	return wl
}
