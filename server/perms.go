package server

import (
	"strconv"

	"github.com/wrenmq/wren/auth"
)

// Permission checks. A connection's *auth.Checker lives in client.perms,
// nil for an unrestricted connection, so the publish path pays one atomic
// load when there are no permissions. Reload swaps the checker in place.
//
// Subscriptions whose filter overlaps a subscribe deny entry ("foo.>" with
// deny "foo.secret") are accepted, as nats-server does, and marked
// (subscription.filter): only those check each delivered subject.

// permitPub reports whether c may publish to subject, telling the client
// when it may not. It is called once per PUB: with response permissions it
// uses up a reply allowance.
func (c *client) permitPub(subject []byte) bool {
	ck := c.perms.Load()
	if ck == nil || ck.CanPublish(subject) {
		return true
	}
	text := "Permissions Violation for Publish to " + strconv.Quote(string(subject))
	c.sendErr(text)
	c.srv.log.Debug("publish violation", "cid", c.cid, "user", c.userName(), "subject", string(subject))
	return false
}

// permitSub applies the subscribe permissions ck to a new subscription,
// telling the client when it is refused, and marks it when deliveries on
// it must be filtered.
func (c *client) permitSub(sub *subscription, ck *auth.Checker) bool {
	if ck == nil {
		return true
	}
	subj, q := bytesOf(sub.subject), bytesOf(sub.queue)
	if !ck.CanSubscribe(subj, q) {
		c.queueErr(subViolation(sub))
		c.srv.log.Debug("subscription violation", "cid", c.cid, "user", c.userName(), "subject", sub.subject, "queue", sub.queue)
		return false
	}
	sub.filter.Store(ck.SubscribeDeniedOverlap(subj, q))
	return true
}

func subViolation(sub *subscription) string {
	text := "Permissions Violation for Subscription to " + strconv.Quote(sub.subject)
	if sub.queue != "" {
		text += " using queue " + strconv.Quote(sub.queue)
	}
	return text
}

// recheckSubs applies the connection's current permissions to every
// subscription of c, after they changed: those no longer allowed are
// removed (and the client told), the others are marked again for delivery
// filtering.
func (c *client) recheckSubs() {
	c.mu.Lock()
	subs := make([]*subscription, 0, len(c.subs))
	for _, sub := range c.subs {
		subs = append(subs, sub)
	}
	c.mu.Unlock()
	for _, sub := range subs {
		c.recheckSub(sub)
	}
}

// recheckSub applies the connection's current permissions to one
// subscription.
func (c *client) recheckSub(sub *subscription) {
	if sub.handler != nil && c.kind != kindSession {
		return
	}
	ck := c.perms.Load()
	if !c.permitSub(sub, ck) {
		c.removeSub(sub)
		return
	}
	if ck == nil {
		sub.filter.Store(false)
	}
}

// deliveryDenied reports whether a message on subject must be withheld from
// sub, a subscription marked for filtering.
func (c *client) deliveryDenied(subject []byte, sub *subscription) bool {
	return c.perms.Load().DeniesDelivery(subject, bytesOf(sub.queue))
}

// recordReply lets a connection with response permissions answer the
// request it is being sent.
func (c *client) recordReply(reply []byte) {
	if ck := c.perms.Load(); ck != nil {
		if rt := ck.Replies(); rt != nil {
			rt.Record(reply)
		}
	}
}

// queueErr queues an -ERR line and wakes the writer. Unlike sendErr it may
// be called from any goroutine.
func (c *client) queueErr(text string) {
	c.mu.Lock()
	if !c.closed {
		c.out.addErr(text)
	}
	slow := c.overPending()
	c.mu.Unlock()
	if slow {
		c.slowConsumer()
		return
	}
	c.signal()
}

// userName returns the name c authenticated as, for logs.
func (c *client) userName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auth.user
}
