package jetstore

import (
	"strconv"
	"testing"

	"github.com/wrenmq/wren/protocol"
)

// TestAcksWhileStreamsLocked holds the stream map's lock, as a stream
// creation does across its fsyncs, and checks that acks are still
// processed and confirmed meanwhile.
func TestAcksWhileStreamsLocked(t *testing.T) {
	e := newFuzzEnv(t)
	const inbox = "_INBOX.pull"
	unsub, err := e.bus.Subscribe(inbox, "", func(*protocol.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	e.bus.Publish(apiPrefix+"CONSUMER.MSG.NEXT.S.C", inbox, nil, []byte(`{"batch":`+strconv.Itoa(seedMsgs)+`}`))
	msgs := e.bus.waitFor(t, inbox, seedMsgs)

	if e.js.lookup("S") == nil {
		t.Fatal(`lookup("S") = nil`)
	}
	e.js.mu.Lock()
	locked := true
	defer func() {
		if locked {
			e.js.mu.Unlock()
		}
	}()
	for i, m := range msgs {
		confirm := "_INBOX.ack." + strconv.Itoa(i)
		// Off the test goroutine, so that a blocked ack fails the wait
		// below instead of hanging the test.
		go e.bus.Publish(string(m.Reply), confirm, nil, []byte("+ACK"))
		e.bus.waitFor(t, confirm, 1)
	}
	if e.js.lookup("S") == nil || len(e.js.sortedStreams()) != 2 {
		t.Fatal("streams not visible while the map is locked")
	}
	e.js.mu.Unlock()
	locked = false

	c := e.js.lookup("S").consumer("C")
	if ci := c.info(""); ci.NumAckPending != 0 || ci.AckFloor.Stream != seedMsgs {
		t.Fatalf("ack pending %d, ack floor %d; want 0, %d", ci.NumAckPending, ci.AckFloor.Stream, seedMsgs)
	}
}
