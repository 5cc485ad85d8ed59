package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const ldmConfig = `
[jetstream]
enabled = true
store_dir = %q

[shutdown]
lame_duck_duration = "3s"
lame_duck_grace_period = "1s"
drain_timeout = "5s"
`

// streamPayloads returns every payload stored in stream S at url.
func streamPayloads(t *testing.T, url string) map[string]bool {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := jsCtx(t)
	s, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(ctx)
	got := map[string]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // removed by a limit or a hole; not this test's case
		}
		got[string(m.Data)] = true
	}
	return got
}

// A nats.go client that knows two servers moves to the second when the
// first enters lame duck mode (SIGUSR2, or wren --signal ldm=PID); the
// first tells its clients (INFO ldm), closes them, flushes its streams
// and exits 0; a publisher into a stream loses no acknowledged message.
func TestLameDuckMovesClientsAndLosesNoAck(t *testing.T) {
	for _, how := range []string{"SIGUSR2", "--signal"} {
		t.Run(how, func(t *testing.T) {
			d1, d2 := t.TempDir(), t.TempDir()
			a := startOps(t, d1, fmt.Sprintf(ldmConfig, d1+"/js"))
			b := startOps(t, d2, fmt.Sprintf(ldmConfig, d2+"/js"))
			for _, d := range []*opsDaemon{a, b} {
				nc, js := natsJS(t, d.url)
				if _, err := js.CreateStream(jsCtx(t), jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
					t.Fatal(err)
				}
				nc.Close()
			}

			var ldm, reconnected sync.WaitGroup
			ldm.Add(1)
			reconnected.Add(1)
			var once1, once2 sync.Once
			nc, err := nats.Connect(a.url+","+b.url, nats.DontRandomize(), nats.ReconnectWait(50*time.Millisecond),
				nats.MaxReconnects(-1),
				nats.LameDuckModeHandler(func(*nats.Conn) { once1.Do(ldm.Done) }),
				nats.ReconnectHandler(func(*nats.Conn) { once2.Do(reconnected.Done) }))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if nc.ConnectedUrl() != a.url {
				t.Fatalf("connected to %s; want the first server %s", nc.ConnectedUrl(), a.url)
			}
			js, _ := jetstream.New(nc)

			// Publish until told to stop, remembering what was acknowledged.
			stop := make(chan struct{})
			var mu sync.Mutex
			var acked []string
			count := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(acked)
			}
			var pubWG sync.WaitGroup
			pubWG.Add(1)
			go func() {
				defer pubWG.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					data := "m" + strconv.Itoa(i)
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					_, err := js.Publish(ctx, "s.x", []byte(data))
					cancel()
					if err == nil {
						mu.Lock()
						acked = append(acked, data)
						mu.Unlock()
					}
				}
			}()
			waitUntil(t, func() error {
				if n := count(); n < 20 {
					return fmt.Errorf("only %d publishes acknowledged", n)
				}
				return nil
			})

			if how == "SIGUSR2" {
				a.signal(syscall.SIGUSR2)
			} else {
				out, errOut, code := runWren(t, d1, "--signal", "ldm="+strconv.Itoa(a.cmd.Process.Pid))
				if code != 0 {
					t.Fatalf("wren --signal ldm=PID exit %d: %s%s", code, out, errOut)
				}
			}
			waitWG(t, &ldm, "the lame duck INFO")
			waitWG(t, &reconnected, "a reconnect")
			if got := nc.ConnectedUrl(); got != b.url {
				t.Fatalf("after lame duck connected to %s; want %s", got, b.url)
			}
			if code := a.waitExit(testTimeout); code != 0 {
				t.Fatalf("lame duck exit code %d; want 0:\n%s", code, a.logText())
			}
			for _, line := range []string{"entering lame duck mode", "lame duck mode closed every client", "server stopped"} {
				if !strings.Contains(a.logText(), line) {
					t.Errorf("the first server's log has no %q:\n%s", line, a.logText())
				}
			}
			// Keep publishing to the second server a little, then stop.
			n := count()
			waitUntil(t, func() error {
				if count() < n+20 {
					return fmt.Errorf("%d acknowledged by the second server", count()-n)
				}
				return nil
			})
			close(stop)
			pubWG.Wait()

			// Every acknowledged message is in one of the two streams:
			// the first server's is read back after a restart.
			a2 := startOps(t, d1, fmt.Sprintf(ldmConfig, d1+"/js"))
			have := streamPayloads(t, a2.url)
			for k := range streamPayloads(t, b.url) {
				have[k] = true
			}
			for _, m := range acked {
				if !have[m] {
					t.Errorf("acknowledged message %s is in neither stream", m)
				}
			}
			t.Logf("%d acknowledged messages, all stored", len(acked))
		})
	}
}

func natsJS(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	return nc, js
}

func waitWG(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatalf("no %s within %v", what, testTimeout)
	}
}

// SIGTERM drains within shutdown.drain_timeout even when a client takes
// nothing of what is queued for it (far inside its write deadline), and
// the daemon still exits 0 after closing its streams.
func TestSIGTERMDrainIsBounded(t *testing.T) {
	dir := t.TempDir()
	d := startOps(t, dir, fmt.Sprintf(`
[limits]
write_deadline = "5m"

[jetstream]
enabled = true
store_dir = %q

[shutdown]
drain_timeout = "1s"
`, dir+"/js"))
	// A subscriber that never reads.
	c, err := net.Dial("tcp", strings.TrimPrefix(d.url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n"))
	pub, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	// Wait for the subscription, then queue far more than a socket holds.
	waitUntil(t, func() error {
		if _, body := d.get("/connz?subs=1"); !strings.Contains(body, `"big"`) {
			return fmt.Errorf("no subscription yet: %s", body)
		}
		return nil
	})
	chunk := make([]byte, 512<<10)
	for range 64 {
		pub.Publish("big", chunk)
	}
	flushNATS(t, pub)
	waitUntil(t, func() error {
		_, body := d.get("/connz")
		var cz struct {
			Connections []struct {
				Pending int `json:"pending_bytes"`
			} `json:"connections"`
		}
		json.Unmarshal([]byte(body), &cz)
		for _, ci := range cz.Connections {
			if ci.Pending > 1<<20 {
				return nil
			}
		}
		return fmt.Errorf("nothing pending yet: %s", body)
	})
	start := time.Now()
	d.signal(syscall.SIGTERM)
	if code := d.waitExit(testTimeout); code != 0 {
		t.Fatalf("exit code %d; want 0:\n%s", code, d.logText())
	}
	if !strings.Contains(d.logText(), "did not drain within shutdown.drain_timeout") {
		t.Errorf("the log does not say the drain timed out:\n%s", d.logText())
	}
	t.Logf("stopped %v after SIGTERM with drain_timeout 1s and write_deadline 5m", time.Since(start).Round(time.Millisecond))
}
