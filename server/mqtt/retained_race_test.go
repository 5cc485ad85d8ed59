package mqtt

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// A retained message published while a client subscribes reaches it once:
// either with the retained messages the subscription starts with, or live,
// never both. Publishers keep setting retained messages on fresh topics
// while clients subscribe one after another; each client must then see
// every topic exactly once.
func TestRetainedOnceWhileSubscribing(t *testing.T) {
	const (
		publishers = 2
		perPub     = 1500
		clients    = 24
	)
	b := startBroker(t, server0(), Options{})
	type tally struct {
		mu     sync.Mutex
		seen   map[string]int
		marker bool
	}
	var pubs sync.WaitGroup
	started := make(chan struct{})
	for p := range publishers {
		pc := b.client311(t, fmt.Sprintf("pub%d", p), true, nil)
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			<-started
			for i := range perPub {
				// The last at QoS 1: its PUBACK means all of them were routed.
				qos := byte(0)
				if i == perPub-1 {
					qos = 1
				}
				tok := pc.Publish(fmt.Sprintf("race/%d/%d", p, i), qos, true, "v")
				if !tok.WaitTimeout(testTimeout) || tok.Error() != nil {
					t.Errorf("publish: %v", tok.Error())
					return
				}
			}
		}()
	}
	tallies := make([]*tally, clients)
	close(started)
	for i := range clients {
		tl := &tally{seen: map[string]int{}}
		tallies[i] = tl
		c := b.client311(t, fmt.Sprintf("sub%d", i), true, nil)
		wait(t, c.Subscribe("race/#", 1, func(_ paho.Client, m paho.Message) {
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if m.Topic() == "race/end" {
				tl.marker = true
				return
			}
			tl.seen[m.Topic()]++
		}))
	}
	pubs.Wait()
	// Every session delivers in order: once the marker arrived, so did
	// everything routed to the session before it.
	end := b.client311(t, "end", true, nil)
	wait(t, end.Publish("race/end", 1, false, "end"))
	for i, tl := range tallies {
		// Give up only when a client makes no progress for testTimeout.
		deadline, last := time.Now().Add(testTimeout), -1
		for {
			tl.mu.Lock()
			n, marker := len(tl.seen), tl.marker
			tl.mu.Unlock()
			if marker && n == publishers*perPub {
				break
			}
			if n != last {
				deadline, last = time.Now().Add(testTimeout), n
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %d: %d of %d topics, marker %v", i, n, publishers*perPub, marker)
			}
			time.Sleep(10 * time.Millisecond)
		}
		tl.mu.Lock()
		for topic, n := range tl.seen {
			if n != 1 {
				t.Errorf("client %d got %s %d times", i, topic, n)
			}
		}
		tl.mu.Unlock()
	}
}
