package jetstore

import (
	"math"
	"time"
)

// deadlineAt returns t+d in unix nanoseconds, saturating instead of
// wrapping: a client may ask for any delay (-NAK {"delay":…}, ack_wait,
// backoff, expires), and a wrapped deadline would lie in the past and fire
// at once.
func deadlineAt(t time.Time, d time.Duration) int64 {
	n := t.UnixNano()
	switch {
	case d > 0 && n > math.MaxInt64-int64(d):
		return math.MaxInt64
	case d < 0 && n < math.MinInt64-int64(d):
		return math.MinInt64
	}
	return n + int64(d)
}
