package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

const testTimeout = 10 * time.Second

type testBroker struct {
	srv *server.Server
	l   *Listener
}

func testLogger() *slog.Logger {
	if os.Getenv("WREN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startBroker runs a broker on 127.0.0.1:0 with an MQTT listener.
func startBroker(t testing.TB, so server.Options, mo Options) *testBroker {
	t.Helper()
	so.Host, so.Port, so.Logger = "127.0.0.1", 0, testLogger()
	srv, err := server.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	mo.Host, mo.Port = "127.0.0.1", 0
	if mo.Logger == nil {
		mo.Logger = testLogger()
	}
	l, err := New(srv, mo)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	b := &testBroker{srv: srv, l: l}
	t.Cleanup(b.stop)
	return b
}

func (b *testBroker) stop() {
	b.l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.srv.Shutdown(ctx)
}

func (b *testBroker) mqttURL() string { return "tcp://" + b.l.Addr().String() }

func (b *testBroker) nats(t *testing.T, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(b.srv.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// client311 connects a paho 3.1.1 client.
func (b *testBroker) client311(t *testing.T, id string, clean bool, set func(o *paho.ClientOptions)) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(b.mqttURL()).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4).SetConnectTimeout(testTimeout)
	if set != nil {
		set(o)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func wait(t *testing.T, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(testTimeout) {
		t.Fatal("timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

// inbox collects messages a paho client receives.
type inbox struct {
	mu   sync.Mutex
	msgs []paho.Message
	ch   chan struct{}
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 1)} }

func (ib *inbox) handler(_ paho.Client, m paho.Message) {
	ib.mu.Lock()
	ib.msgs = append(ib.msgs, m)
	ib.mu.Unlock()
	select {
	case ib.ch <- struct{}{}:
	default:
	}
}

// waitN waits until n messages arrived and returns them.
func (ib *inbox) waitN(t *testing.T, n int) []paho.Message {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		ib.mu.Lock()
		got := len(ib.msgs)
		if got >= n {
			out := append([]paho.Message(nil), ib.msgs...)
			ib.mu.Unlock()
			return out
		}
		ib.mu.Unlock()
		select {
		case <-ib.ch:
		case <-deadline:
			t.Fatalf("got %d messages; want %d", got, n)
		}
	}
}

// none checks that nothing more than n arrives while a round trip through
// the broker completes.
func (ib *inbox) count() int {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return len(ib.msgs)
}

func describe(m paho.Message) string {
	return fmt.Sprintf("%s %q qos%d retain=%v", m.Topic(), m.Payload(), m.Qos(), m.Retained())
}

func server0() server.Options { return server.Options{} }

type serverOptions = server.Options
