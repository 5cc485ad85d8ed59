package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// acker answers stream publishes on rss.data the way a stream would, but
// only in batches every period, and lets a test choose each answer.
type acker struct {
	mu      sync.Mutex
	pending []*nats.Msg
	n       int
	answer  func(n int) []byte // nil: no answer
}

// startAcker runs a NATS server with a responder in place of a stream and
// returns a connection to publish on.
func startAcker(t *testing.T, period time.Duration, answer func(n int) []byte) *nats.Conn {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(30 * time.Second) {
		t.Fatal("server not ready")
	}
	rc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.Close)
	a := &acker{answer: answer}
	if _, err := rc.Subscribe("rss.data", func(m *nats.Msg) {
		a.mu.Lock()
		a.pending = append(a.pending, m)
		a.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Flush(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		tk := time.NewTicker(period)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
			}
			a.mu.Lock()
			batch := a.pending
			a.pending = nil
			a.mu.Unlock()
			for _, m := range batch {
				a.n++
				if b := a.answer(a.n); b != nil {
					rc.Publish(m.Reply, b)
				}
			}
		}
	}()
	nc, err := nats.Connect(s.ClientURL(), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func pubAck(n int) []byte { return []byte(fmt.Sprintf(`{"stream":"RSS","seq":%d}`, n)) }

func TestPublishPacedWaitsForSlowPubAcks(t *testing.T) {
	// Answers come 400 ms apart: a full window of publishes waits longer
	// than a client's default stall, as on a machine too loaded to
	// schedule the daemon. Nothing is lost, so nothing may be reported.
	nc := startAcker(t, 400*time.Millisecond, pubAck)
	js, err := newPacedJS(nc)
	if err != nil {
		t.Fatal(err)
	}
	tally, err := js.publishPaced("rss.data", []byte("x"), 2000, 1500*time.Millisecond, time.Minute, nil)
	if err != nil {
		t.Fatalf("slow but complete acknowledgements reported as failure: %v", err)
	}
	if tally.sent <= pubWindow || tally.acked != tally.sent {
		t.Fatalf("sent %d (want more than a window of %d), acknowledged %d", tally.sent, pubWindow, tally.acked)
	}
	if tally.waits == 0 || tally.longest < 200*time.Millisecond {
		t.Fatalf("%d waits for the window, longest %s: want the waits behind 400 ms answers counted", tally.waits, tally.longest)
	}
}

func TestPublishPacedReportsUnansweredPublish(t *testing.T) {
	nc := startAcker(t, 50*time.Millisecond, func(n int) []byte {
		if n == 10 {
			return nil
		}
		return pubAck(n)
	})
	js, err := newPacedJS(nc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.publishPaced("rss.data", []byte("x"), 200, 500*time.Millisecond, 3*time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "1 of ") || !strings.Contains(err.Error(), "unanswered") {
		t.Fatalf("a publish the server never answered: got %v, want it reported unanswered", err)
	}
}

func TestPublishPacedReportsErrorPubAck(t *testing.T) {
	nc := startAcker(t, 50*time.Millisecond, func(n int) []byte {
		if n == 7 {
			return []byte(`{"error":{"code":500,"err_code":10049,"description":"stream store failed"}}`)
		}
		return pubAck(n)
	})
	js, err := newPacedJS(nc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.publishPaced("rss.data", []byte("x"), 200, 500*time.Millisecond, 30*time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "1 of ") || !strings.Contains(err.Error(), "stream store failed") {
		t.Fatalf("a publish answered with an error: got %v, want it reported", err)
	}
}
