package auth

import (
	"sync"
	"time"
)

// DefaultReplyLimit is how many reply subjects a ReplyTracker remembers when
// NewReplyTracker is given no limit.
const DefaultReplyLimit = 4096

// replyPruneFloor is the smallest table size at which expired entries are
// swept.
const replyPruneFloor = 64

// ReplyTracker remembers the reply subjects of requests delivered to one
// connection, so that the connection may publish its responses (the
// allow_responses permission). Memory is bounded: expired entries are swept
// as the table grows, and once it holds its limit the oldest-looking entries
// are dropped in map order (that reply then needs a publish permission of
// its own).
//
// A ReplyTracker is safe for concurrent use: Record runs on the publisher's
// goroutine while Allow runs on the responder's.
type ReplyTracker struct {
	maxMsgs int           // > 0, or < 0 for no limit
	expires time.Duration // 0 for no expiry
	limit   int
	now     func() time.Time

	mu      sync.Mutex
	m       map[string]*replyEntry
	pruneAt int
}

type replyEntry struct {
	at time.Time
	n  int
}

// NewReplyTracker returns a tracker applying p, holding at most limit reply
// subjects (limit <= 0 means DefaultReplyLimit). p.MaxMsgs 0 means 1 and a
// negative value means no limit; p.Expires <= 0 means no expiry.
func NewReplyTracker(p ResponsePermission, limit int) *ReplyTracker {
	if p.MaxMsgs == 0 {
		p.MaxMsgs = 1
	}
	if p.Expires < 0 {
		p.Expires = 0
	}
	if limit <= 0 {
		limit = DefaultReplyLimit
	}
	return &ReplyTracker{
		maxMsgs: p.MaxMsgs,
		expires: p.Expires,
		limit:   limit,
		now:     time.Now,
		pruneAt: min(replyPruneFloor, limit),
	}
}

// Record notes that a message with reply subject reply was delivered to the
// connection. Recording a subject again restarts its count and its clock.
// An empty reply is ignored.
func (t *ReplyTracker) Record(reply []byte) {
	if len(reply) == 0 {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.m[string(reply)]; e != nil {
		e.at, e.n = now, 0
		return
	}
	if t.m == nil {
		t.m = make(map[string]*replyEntry)
	}
	if len(t.m) >= t.pruneAt {
		t.prune(now)
	}
	t.m[string(reply)] = &replyEntry{at: now}
}

// prune sweeps expired entries, evicts entries if the table is still full,
// and sets the size at which to sweep next: twice what is left, so sweeping
// costs O(1) per Record on average.
func (t *ReplyTracker) prune(now time.Time) {
	if t.expires > 0 {
		for k, e := range t.m {
			if now.Sub(e.at) > t.expires {
				delete(t.m, k)
			}
		}
	}
	if len(t.m) >= t.limit {
		keep := t.limit - t.limit/8 - 1
		for k := range t.m {
			if len(t.m) <= keep {
				break
			}
			delete(t.m, k)
		}
	}
	t.pruneAt = min(max(2*len(t.m), replyPruneFloor), t.limit)
}

// Allow reports whether a message may be published to subject as a
// response, and if so uses up one of the messages allowed for it.
func (t *ReplyTracker) Allow(subject []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[string(subject)]
	if e == nil {
		return false
	}
	if t.expires > 0 && t.now().Sub(e.at) > t.expires {
		delete(t.m, string(subject))
		return false
	}
	e.n++
	if t.maxMsgs > 0 && e.n >= t.maxMsgs {
		delete(t.m, string(subject))
	}
	return true
}

// Len returns how many reply subjects are being tracked.
func (t *ReplyTracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
