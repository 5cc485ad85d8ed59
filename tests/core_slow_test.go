package tests

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

// orderedCounter counts messages whose payloads start with their index
// and remembers the first out-of-order one.
type orderedCounter struct {
	mu   sync.Mutex
	n    int
	errs []string
}

func (c *orderedCounter) handle(m *nats.Msg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	want := strconv.Itoa(c.n) + ":"
	if len(m.Data) < len(want) || string(m.Data[:len(want)]) != want {
		if len(c.errs) < 5 {
			c.errs = append(c.errs, fmt.Sprintf("message %d starts with %q", c.n, m.Data[:min(len(m.Data), 12)]))
		}
	}
	c.n++
}

func (c *orderedCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestCoreSlowConsumer has one subscriber that never reads. The server must
// cut it, without ever making the publisher or a healthy subscriber wait.
func TestCoreSlowConsumer(t *testing.T) {
	tests := []struct {
		name string
		opts server.Options
	}{
		// Pending bytes pass MaxPending while the socket is full.
		{"max pending", server.Options{MaxPending: 256 << 10}},
		// A write blocks for longer than the write deadline.
		{"write deadline", server.Options{WriteDeadline: 50 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testSlowConsumer(t, tt.opts)
		})
	}
}

func testSlowConsumer(t *testing.T, opts server.Options) {
	s := startCoreServer(t, opts)

	slow := dialRaw(t, s)
	slow.connect("")
	slow.send("SUB flood 1\r\n")
	slow.ping()
	// From here on, slow reads nothing until the end.

	healthyDisconnected := make(chan error, 1)
	healthyConn := connectNATS(t, s, nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
		select {
		case healthyDisconnected <- err:
		default:
		}
	}))
	var healthy orderedCounter
	hs, err := healthyConn.Subscribe("flood", healthy.handle)
	if err != nil {
		t.Fatal(err)
	}
	hs.SetPendingLimits(-1, -1)
	flushNATS(t, healthyConn)

	pub := connectNATS(t, s)
	const (
		msgSize = 4 << 10
		// 64 KiB. A healthy subscriber is never more than a batch behind,
		// but the server may count one written batch as pending until its
		// write loop is scheduled again, so two batches must fit in
		// MaxPending.
		batch   = 16
		maxSent = 32 << 20 // give up if the slow consumer is never cut
	)
	payload := make([]byte, msgSize)
	sent := 0
	publishBatch := func() {
		t.Helper()
		for range batch {
			// nats.go copies the payload, so the buffer can be reused.
			copy(payload, strconv.Itoa(sent)+":")
			if err := pub.Publish("flood", payload); err != nil {
				t.Fatalf("Publish #%d: %v", sent, err)
			}
			sent++
		}
		flushNATS(t, pub)
		waitUntil(t, func() error {
			select {
			case err := <-healthyDisconnected:
				t.Fatalf("healthy subscriber disconnected (%v) after %d of %d messages; slow consumers %d",
					err, healthy.count(), sent, s.Stats().SlowConsumers)
			default:
			}
			if got := healthy.count(); got != sent {
				return fmt.Errorf("healthy subscriber got %d of %d messages", got, sent)
			}
			return nil
		})
	}

	for s.Stats().SlowConsumers == 0 {
		if sent*msgSize >= maxSent {
			t.Fatalf("published %d bytes and the subscriber that never reads is still connected", sent*msgSize)
		}
		publishBatch()
	}
	cutAt := sent
	// The publisher goes on; the healthy subscriber keeps up.
	for range 10 {
		publishBatch()
	}

	if got := healthy.count(); got != sent {
		t.Errorf("healthy subscriber got %d messages; want %d", got, sent)
	}
	healthy.mu.Lock()
	for _, e := range healthy.errs {
		t.Error(e)
	}
	healthy.mu.Unlock()
	if got := s.Stats().SlowConsumers; got != 1 {
		t.Errorf("SlowConsumers = %d; want 1", got)
	}
	waitUntil(t, func() error {
		if n := s.NumClients(); n != 2 {
			return fmt.Errorf("NumClients = %d; want 2 (publisher and healthy subscriber)", n)
		}
		return nil
	})

	// The server closed the slow consumer's socket without flushing its
	// queue; the kernel still delivers what it had buffered, then the
	// close. Reading drains that and ends.
	rest := slow.expectClosed()
	if max := cutAt * (msgSize + 64); len(rest) > max {
		t.Errorf("slow consumer read %d bytes after being cut at message %d; want at most %d", len(rest), cutAt, max)
	}
	t.Logf("cut after %d messages; the slow consumer could still read %d bytes", cutAt, len(rest))
}

// A publisher to a subject with no slow subscribers is unaffected when
// another subject's subscriber is cut.
func TestCoreSlowConsumerOtherSubjects(t *testing.T) {
	s := startCoreServer(t, server.Options{MaxPending: 64 << 10})
	slow := dialRaw(t, s)
	slow.connect("")
	slow.send("SUB big 1\r\n")
	slow.ping()

	other := connectNATS(t, s)
	osub, err := other.SubscribeSync("small")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, other)
	pub := connectNATS(t, s)
	big := make([]byte, 32<<10)
	for i := 0; s.Stats().SlowConsumers == 0; i++ {
		if i*len(big) > 64<<20 {
			t.Fatal("subscriber that never reads was never cut")
		}
		if err := pub.Publish("big", big); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish("small", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		flushNATS(t, pub)
		flushNATS(t, other)
		if msgs := drainPending(t, osub); len(msgs) != 1 || string(msgs[0].Data) != strconv.Itoa(i) {
			t.Fatalf("round %d: other subscriber got %d messages; want 1 with %q", i, len(msgs), strconv.Itoa(i))
		}
	}
	slow.expectClosed()
}
