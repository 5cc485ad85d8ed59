package jetstore

import (
	"github.com/wrenmq/wren/jetstore/store"
	"math"
	"time"
)

// replayState paces first deliveries under replay_policy original: each
// message goes out as long after the previous one as it was stored after
// it. Redeliveries are not paced.
type replayState struct {
	msgTime int64 // stored time of the last message delivered for the first time
	sentAt  int64 // when that was, unix ns; 0 before the first
	due     int64 // when the message held back is due; 0 when none is
}

// replayDue reports whether m may be delivered for the first time now,
// and otherwise notes when it may. mu is held.
func (c *consumer) replayDue(m *store.StoredMsg, now time.Time) bool {
	if c.cfg.ReplayPolicy != ReplayOriginal || c.replay.sentAt == 0 || m.Time <= c.replay.msgTime {
		c.replay.due = 0
		return true
	}
	due := c.replay.sentAt + (m.Time - c.replay.msgTime)
	if due < c.replay.sentAt { // the gap overflows: hold it for good
		due = math.MaxInt64
	}
	if now.UnixNano() >= due {
		c.replay.due = 0
		return true
	}
	c.replay.due = due
	return false
}

// replayed records a first delivery of m at now. mu is held.
func (c *consumer) replayed(m *store.StoredMsg, now time.Time) {
	if c.cfg.ReplayPolicy != ReplayOriginal {
		return
	}
	c.replay.msgTime, c.replay.sentAt, c.replay.due = m.Time, now.UnixNano(), 0
}
