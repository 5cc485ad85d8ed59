package tests

import (
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A -NAK with the largest delay a client can send parks the message; it
// must not wrap around into the past and come straight back.
func TestJSConsumerNakHugeDelay(t *testing.T) {
	_, _, c := ackStream(t, jetstream.ConsumerConfig{AckWait: time.Minute})
	m := fetchOne(t, c, testTimeout)
	if err := m.NakWithDelay(time.Duration(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	fetchNone(t, c, 500*time.Millisecond)
}
