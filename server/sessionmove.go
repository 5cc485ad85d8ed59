package server

import (
	"strconv"

	"github.com/wrenmq/wren/protocol"
)

// Subscription is one subscription of a Session, as Subscribe returns it.
type Subscription struct {
	sub *subscription
}

// Unsubscribe ends the subscription, wherever it was moved since.
func (x *Subscription) Unsubscribe() {
	x.sub.client.unsub(x.sub.sid, 0)
}

// Move hands the subscription x (of another session) over to ss in one
// step as publishers see it: the subject index swaps it for one of ss's
// under its lock, so each message published meanwhile is delivered through
// exactly one of them, and none falls in between. A publisher that
// matched the old subscription before the swap still delivers to its
// handler. ss's permissions apply: ErrPermission leaves x as it was. The
// returned subscription replaces x, which must not be used again.
func (ss *Session) Move(x *Subscription) (*Subscription, error) {
	old := x.sub
	c := ss.c
	if old.client == c {
		return x, nil
	}
	sub := &subscription{client: c, subject: old.subject, queue: old.queue,
		sid: strconv.FormatUint(ss.sid.Add(1), 10), handler: old.handler, noLocal: old.noLocal}
	ck := c.perms.Load()
	if ck != nil {
		if !ck.CanSubscribe(bytesOf(sub.subject), bytesOf(sub.queue)) {
			c.srv.log.Debug("subscription violation", "cid", c.cid, "user", ss.User(), "subject", sub.subject, "queue", sub.queue)
			return nil, ErrPermission
		}
		sub.filter.Store(ck.SubscribeDeniedOverlap(bytesOf(sub.subject), bytesOf(sub.queue)))
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.subs[sub.sid] = sub
	c.mu.Unlock()
	// The old subscription leaves its connection's set, so the connection's
	// close leaves it alone, and is never marked closed: a delivery that
	// matched it before the swap still reaches the handler.
	oc := old.client
	oc.mu.Lock()
	mine := oc.subs[old.sid] == old
	if mine {
		delete(oc.subs, old.sid)
	}
	oc.mu.Unlock()
	if !mine || old.closed.Load() || !c.srv.sl.replace(old, sub) {
		// Gone already (unsubscribed, or its connection closed): a plain
		// subscription.
		if err := c.srv.sl.Insert(sub); err != nil {
			c.mu.Lock()
			delete(c.subs, sub.sid)
			c.mu.Unlock()
			return nil, ErrInvalidSubject
		}
		c.srv.interest.changed(sub, 1)
	}
	if c.perms.Load() != ck {
		c.recheckSub(sub)
	}
	return &Subscription{sub: sub}, nil
}

// replace puts sub in old's place in the index, in one step under the
// lock; the interest does not change. It reports false when old is not in
// the index.
func (s *Sublist) replace(old, sub *subscription) bool {
	if old.subject != sub.subject || old.queue != sub.queue || !protocol.ValidFilter(sub.subject) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := old.node
	if n == nil {
		return false
	}
	if sub.queue == "" {
		if !n.psubs.has(old) || !n.psubs.add(sub) {
			return false
		}
	} else {
		q := n.qsubs[sub.queue]
		if _, ok := q[old]; !ok {
			return false
		}
		q[sub] = struct{}{}
	}
	sub.node = n
	s.count++
	s.inserts.Add(1)
	s.removeLocked(old) // n keeps sub, so nothing is pruned
	s.invalidate(sub.subject)
	return true
}
