package mqtt

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// A persistent session's subscriptions pass from one connection to the
// next as one step: QoS 1 and 2 messages published while the client reconnects
// over and over (after going away, or taking its session over from a
// connection still open) all arrive, and a message arrives twice only as
// a redelivery with DUP set.
func TestReconnectHandOverLosesNothing(t *testing.T) {
	t.Run("qos1", func(t *testing.T) { testHandOver(t, 1, 400) })
	t.Run("qos2", func(t *testing.T) { testHandOver(t, 2, 300) })
}

func testHandOver(t *testing.T, qos byte, reconnects int) {
	const topics = 32
	b := startBroker(t, server0(), Options{MaxQueued: 1 << 20})

	var mu sync.Mutex
	seen := map[int]int{}
	plain := map[int]int{}
	var bad []string
	handler := func(_ paho.Client, m paho.Message) {
		n, err := strconv.Atoi(string(m.Payload()))
		mu.Lock()
		defer mu.Unlock()
		if err != nil || m.Qos() != qos {
			bad = append(bad, describe(m))
			return
		}
		// Handlers run concurrently, so a redelivery may be seen before
		// the first copy: count the copies without DUP.
		if !m.Duplicate() {
			plain[n]++
			if plain[n] == 2 {
				bad = append(bad, "twice without DUP: "+describe(m))
			}
		}
		seen[n]++
	}
	connect := func() paho.Client {
		o := paho.NewClientOptions().AddBroker(b.mqttURL()).SetClientID("mover").SetCleanSession(false).
			SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4).SetConnectTimeout(testTimeout).
			SetDefaultPublishHandler(handler).SetOrderMatters(false)
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		return c
	}
	sub := connect()
	for i := 0; i < topics; i++ {
		wait(t, sub.Subscribe("mv/"+strconv.Itoa(i), qos, nil))
	}

	// Publishers flood QoS 1 messages numbered 0, 1, 2, ... over the
	// topics while the subscriber reconnects.
	var next atomic.Int64
	stop := make(chan struct{})
	var pubs sync.WaitGroup
	for p := 0; p < 2; p++ {
		pub := b.client311(t, "pub"+strconv.Itoa(p), true, nil)
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			var toks []paho.Token
			for {
				select {
				case <-stop:
					for _, tok := range toks {
						if !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
							t.Errorf("publish: %v", tok.Error())
						}
					}
					return
				default:
				}
				n := next.Add(1) - 1
				toks = append(toks, pub.Publish("mv/"+strconv.Itoa(int(n%topics)), qos, false, strconv.FormatInt(n, 10)))
				if len(toks) >= 64 {
					for _, tok := range toks {
						if !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
							t.Errorf("publish: %v", tok.Error())
						}
					}
					toks = toks[:0]
				}
			}
		}()
	}
	for i := 0; i < reconnects; i++ {
		if i%2 == 0 {
			sub.Disconnect(0)
			sub = connect()
			continue
		}
		// A connection with the same client id takes the session over
		// from the one still connected.
		old := sub
		sub = connect()
		old.Disconnect(0)
	}
	close(stop)
	pubs.Wait()
	total := int(next.Load())
	defer sub.Disconnect(0)

	deadline := time.Now().Add(testTimeout)
	for {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var missing []int
	for n := 0; n < total; n++ {
		if seen[n] == 0 {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d messages lost, first %v", len(missing), total, missing[:min(len(missing), 10)])
	}
	if len(bad) > 0 {
		t.Errorf("%d bad deliveries, first %v", len(bad), bad[:min(len(bad), 5)])
	}
	t.Logf("%d messages over %d reconnects", total, reconnects)
}
