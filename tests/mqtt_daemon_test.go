package tests

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// mqttDaemon is a wren child process with the MQTT listener on.
type mqttDaemon struct {
	t        testing.TB
	cmd      *exec.Cmd
	natsURL  string
	mqttAddr string
	exited   chan struct{}

	mu  sync.Mutex
	log bytes.Buffer
}

func (d *mqttDaemon) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.Write(b)
}

func (d *mqttDaemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

var mqttListenAddr = regexp.MustCompile(`listening for MQTT clients.*?addr=([0-9.:]+)`)

// mqttConfig writes a configuration with MQTT on a free port and streams
// in dir/store; extra is appended.
func mqttConfig(t testing.TB, dir, extra string) string {
	t.Helper()
	return writeFile(t, dir, "wren.toml", fmt.Sprintf(`host = "127.0.0.1"
port = 0
[jetstream]
enabled = true
store_dir = %q
[mqtt]
host = "127.0.0.1"
port = -1
%s`, filepath.Join(dir, "store"), extra))
}

// startMQTTDaemon runs wren with cfg and waits for both listeners.
func startMQTTDaemon(t testing.TB, cfg string) *mqttDaemon {
	t.Helper()
	d := &mqttDaemon{t: t, cmd: exec.Command(wrenPath(t), "-c", cfg), exited: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = d, d
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(d.kill)
	waitUntil(t, func() error {
		select {
		case <-d.exited:
			t.Fatalf("wren exited early:\n%s", d.logText())
		default:
		}
		text := d.logText()
		i := strings.Index(text, "wren started")
		m := mqttListenAddr.FindStringSubmatch(text)
		if i < 0 || m == nil {
			return fmt.Errorf("not started:\n%s", text)
		}
		u := startedURL.FindStringSubmatch(text[i:])
		if u == nil {
			t.Fatalf("no url in the start line:\n%s", text)
		}
		d.natsURL, d.mqttAddr = u[1], m[1]
		return nil
	})
	return d
}

func (d *mqttDaemon) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
}

func (d *mqttDaemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(testTimeout):
		d.t.Errorf("wren did not stop on SIGTERM")
		d.kill()
	}
}

func (d *mqttDaemon) paho(t testing.TB, id string, clean bool, set func(*paho.ClientOptions)) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + d.mqttAddr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetProtocolVersion(4).SetConnectTimeout(testTimeout)
	if set != nil {
		set(o)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
		t.Fatalf("mqtt connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func pahoWait(t testing.TB, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(testTimeout) {
		t.Fatal("mqtt operation timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

// collector gathers the payloads a paho client receives.
type collector struct {
	mu   sync.Mutex
	seen map[string]int
	msgs []paho.Message
}

func newCollector() *collector { return &collector{seen: map[string]int{}} }

func (c *collector) handle(_ paho.Client, m paho.Message) {
	c.mu.Lock()
	c.seen[string(m.Payload())]++
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) waitDistinct(t testing.TB, n int) map[string]int {
	t.Helper()
	var out map[string]int
	waitUntil(t, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.seen) < n {
			return fmt.Errorf("%d distinct messages; want %d", len(c.seen), n)
		}
		out = make(map[string]int, len(c.seen))
		for k, v := range c.seen {
			out[k] = v
		}
		return nil
	})
	return out
}

// QoS 1 and 2 messages acknowledged to their publisher, queued for an
// offline persistent session, and a retained message survive kill -9: after
// the restart the session is there, every acknowledged QoS 1 message comes
// at least once, every QoS 2 message exactly once, and the retained message
// is delivered on subscribe.
func TestMQTTCrashKeepsAckedMessages(t *testing.T) {
	dir := t.TempDir()
	cfg := mqttConfig(t, dir, "")
	d := startMQTTDaemon(t, cfg)
	sub := d.paho(t, "gateway-7", false, nil)
	pahoWait(t, sub.Subscribe("plant/#", 2, nil))
	sub.Disconnect(100)

	pub := d.paho(t, "sensor", true, nil)
	const n1, n2 = 150, 50
	for i := 0; i < n1; i++ {
		pahoWait(t, pub.Publish("plant/line1", 1, false, "q1-"+strconv.Itoa(i)))
	}
	for i := 0; i < n2; i++ {
		pahoWait(t, pub.Publish("plant/line2", 2, false, "q2-"+strconv.Itoa(i)))
	}
	pahoWait(t, pub.Publish("plant/status", 1, true, "retained-running"))
	d.kill()

	d = startMQTTDaemon(t, cfg)
	// Published after the restart, before the session's client is back:
	// the restored session's subscription queues it.
	pub = d.paho(t, "sensor", true, nil)
	pahoWait(t, pub.Publish("plant/line1", 1, false, "after-restart"))
	col := newCollector()
	back := d.paho(t, "gateway-7", false, func(o *paho.ClientOptions) { o.SetDefaultPublishHandler(col.handle) })
	_ = back
	got := col.waitDistinct(t, n1+n2+2)
	if got["after-restart"] == 0 {
		t.Error("the message published after the restart is missing")
	}
	for i := 0; i < n2; i++ {
		if c := got["q2-"+strconv.Itoa(i)]; c != 1 {
			t.Errorf("QoS 2 message %d delivered %d times", i, c)
		}
	}
	for i := 0; i < n1; i++ {
		if got["q1-"+strconv.Itoa(i)] == 0 {
			t.Errorf("QoS 1 message %d lost", i)
		}
	}
	// A new subscriber gets the retained message from the restarted store.
	col2 := newCollector()
	fresh := d.paho(t, "fresh", true, nil)
	pahoWait(t, fresh.Subscribe("plant/status", 1, col2.handle))
	if got := col2.waitDistinct(t, 1); got["retained-running"] != 1 {
		t.Fatalf("retained after restart: %v", got)
	}
}

// mosquitto_pub and mosquitto_sub, at MQTT 3.1.1 and 5, with a password
// user, against NATS clients in both directions.
func TestMQTTMosquittoClients(t *testing.T) {
	pubBin := needTool(t, "mosquitto_pub", "apt-get install -y mosquitto-clients")
	subBin := needTool(t, "mosquitto_sub", "apt-get install -y mosquitto-clients")
	dir := t.TempDir()
	cfg := mqttConfig(t, dir, `
[authorization]
users = [
  { user = "dev", password = "s3cret", permissions = { publish = ["tele.>", "cmd.>"], subscribe = ["cmd.>", "tele.>"] } },
]
`)
	d := startMQTTDaemon(t, cfg)
	host, port, _ := strings.Cut(d.mqttAddr, ":")
	nc, err := nats.Connect(d.natsURL, nats.UserInfo("dev", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			sub, _ := nc.SubscribeSync("tele.>")
			defer sub.Unsubscribe()
			nc.Flush()
			out, err := exec.Command(pubBin, "-h", host, "-p", port, "-V", v, "-u", "dev", "-P", "s3cret",
				"-q", "1", "-t", "tele/boiler/temp", "-m", "71.5").CombinedOutput()
			if err != nil {
				t.Fatalf("mosquitto_pub: %v\n%s", err, out)
			}
			m, err := sub.NextMsg(testTimeout)
			if err != nil || m.Subject != "tele.boiler.temp" || string(m.Data) != "71.5" {
				t.Fatalf("NATS got %v, %v", m, err)
			}

			cmd := exec.Command(subBin, "-h", host, "-p", port, "-V", v, "-u", "dev", "-P", "s3cret",
				"-q", "1", "-t", "cmd/#", "-C", "1", "-v", "-W", "20")
			var so bytes.Buffer
			cmd.Stdout, cmd.Stderr = &so, &so
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Publish until the subscriber is in place and takes one.
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for waiting := true; waiting; {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("mosquitto_sub: %v\n%s", err, so.String())
					}
					waiting = false
				case <-tick.C:
					nc.Publish("cmd.valve.open", []byte("now"))
				}
			}
			if got := strings.TrimSpace(so.String()); got != "cmd/valve/open now" {
				t.Fatalf("mosquitto_sub printed %q", got)
			}
		})
	}

	// Wrong password: refused with the protocol's code.
	out, err := exec.Command(pubBin, "-h", host, "-p", port, "-u", "dev", "-P", "wrong", "-t", "tele/x", "-m", "1").CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "not authori") && !strings.Contains(strings.ToLower(string(out)), "bad user") {
		t.Fatalf("wrong password: %v\n%s", err, out)
	}
}

// NATS-published messages reach a QoS 1 MQTT subscription at QoS 1 when a
// stream stores their subject (the publisher had a PubAck, so the message
// is durable and the session keeps it until the device acknowledges it),
// and at QoS 0 otherwise, as a core NATS publish has no acknowledgement to
// be faithful to.
func TestMQTTNATSPublishesAtQoS1FromStreams(t *testing.T) {
	dir := t.TempDir()
	d := startMQTTDaemon(t, mqttConfig(t, dir, ""))
	nc, err := nats.Connect(d.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	dev := d.paho(t, "shop", false, nil)
	pahoWait(t, dev.SubscribeMultiple(map[string]byte{"orders/#": 1, "chat/#": 1}, col.handle))
	if _, err := js.Publish(ctx, "orders.new", []byte("stored")); err != nil {
		t.Fatal(err)
	}
	nc.Publish("chat.room", []byte("core"))
	nc.Flush()
	col.waitDistinct(t, 2)
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, m := range col.msgs {
		want := byte(0)
		if m.Topic() == "orders/new" {
			want = 1
		}
		if m.Qos() != want {
			t.Errorf("%s arrived at QoS %d; want %d", m.Topic(), m.Qos(), want)
		}
	}
}
