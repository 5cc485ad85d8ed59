package server

import (
	"strings"
	"testing"
)

// A publisher is held back once a subscriber is stallBytes behind, not
// only at half of max_pending: with the default 64 MiB limit, a fan-out
// would otherwise buffer 32 MiB for every slow subscriber.
func TestPublisherStallsAtStallBytes(t *testing.T) {
	s := loopServer(t, Options{})
	sub := loopClient(t, s, "")
	send(t, sub, "SUB big 1\r\n")
	pub := loopClient(t, s, "")
	payload := strings.Repeat("x", 64<<10)
	msg := "PUB big 65536\r\n" + payload + "\r\n"
	for i := 0; ; i++ {
		sub.mu.Lock()
		behind := sub.out.pending()
		sub.mu.Unlock()
		if behind > 2*stallBytes {
			t.Fatalf("subscriber %d bytes behind and the publisher never held back", behind)
		}
		send(t, pub, msg)
		stalled := pub.pc.stall != nil
		pub.pc.stall = nil
		sub.mu.Lock()
		behind = sub.out.pending()
		sub.mu.Unlock()
		if stalled != (int64(behind) > stallBytes) {
			t.Fatalf("after %d messages the subscriber is %d bytes behind: stalled %v; want a stall past %d", i+1, behind, stalled, stallBytes)
		}
		if stalled {
			break
		}
	}
	// Once it has caught up (its queue written), the publisher goes on.
	takeOut(sub)
	send(t, pub, msg)
	if pub.pc.stall != nil {
		t.Error("publisher held back by a subscriber that caught up")
	}
}
