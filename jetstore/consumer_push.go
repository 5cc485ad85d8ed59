package jetstore

import (
	"strconv"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Push flow control: after this many messages or bytes the consumer asks
// its subscriber to confirm it keeps up, and delivers nothing more until it
// does. It bounds what a slow push subscriber can have in flight.
const (
	fcEveryMsgs  = 512
	fcEveryBytes = 2 << 20
)

const descFlowControl = "FlowControl Request"

// pushState is a push consumer's delivery bookkeeping.
type pushState struct {
	lastSent  int64  // unix ns of the last message or status sent
	msgs      int    // messages since the last flow control request
	bytes     int    // bytes since the last flow control request
	fcPending string // the reply subject of the unanswered request
	fcSeq     uint64
	bound     bool // the deliver subject had a subscriber at the last look
	// denied says why the owner may not have the server publish to the
	// deliver subject, at the last look; deniedNews that it changed and
	// is still to be logged (consumer_owner.go).
	denied     string
	deniedNews bool
}

// interestPoll is how often a push consumer without a subscriber looks
// again.
const interestPoll = 100 * time.Millisecond

// deliverPush delivers to the deliver subject until there is nothing to
// send, max_ack_pending is reached or flow control stalls. It reports
// whether it stopped with work left. mu is held.
func (c *consumer) deliverPush(now time.Time) bool {
	subject := c.cfg.DeliverSubject
	allowed := c.mayDeliver()
	c.push.bound = c.js.bus.HasInterest(subject)
	if !c.push.bound || !allowed {
		return false
	}
	c.lastActive = now
	for n := 0; n < maxDeliverPerWork; n++ {
		if c.push.fcPending != "" {
			return false
		}
		m, redelivery, ok := c.peek(now)
		if !ok {
			return false
		}
		c.commit(&m, redelivery, subject, c.nextAckSubject(&m, redelivery, now), now)
		if c.cfg.FlowControl && (c.push.msgs >= fcEveryMsgs || c.push.bytes >= fcEveryBytes) {
			c.push.fcSeq++
			c.push.fcPending = fcPrefix + c.st.name + "." + c.name + "." + strconv.FormatUint(c.push.fcSeq, 10)
			c.sendFlowControl(c.push.fcPending)
		}
	}
	return true
}

// sendFlowControl asks the subscriber to answer on reply. mu is held.
func (c *consumer) sendFlowControl(reply string) {
	h := protocol.AppendHeaderEnd(protocol.AppendHeaderStart(nil, protocol.StatusIdleHeartbeat, descFlowControl))
	c.js.bus.Publish(c.cfg.DeliverSubject, reply, h, nil)
	c.push.lastSent = time.Now().UnixNano()
}

// flowControlReply resumes delivery when the awaited request is answered.
// mu is held.
func (c *consumer) flowControlReply(subject string) {
	if subject == c.push.fcPending {
		c.push.fcPending = ""
		c.push.msgs, c.push.bytes = 0, 0
	}
}
