package auth

import (
	"fmt"
	"sync"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// SubjectPermission is an allow list and a deny list of subject patterns
// ('*' and '>' wildcards). An empty Allow list allows every subject; Deny
// wins over Allow.
//
// In subscribe permissions an entry may name a queue group after the subject,
// separated by white space: "jobs.> workers" allows (or denies) subscribing
// to subjects within jobs.> in a queue group matching "workers" (the queue
// pattern may use wildcards too).
type SubjectPermission struct {
	Allow []string
	Deny  []string
}

// ResponsePermission lets a connection publish a reply to a request it
// received, even when its publish permissions do not include the reply
// subject (the allow_responses setting).
type ResponsePermission struct {
	// MaxMsgs is how many messages may be published to one reply subject.
	// 0 means 1; a negative value means no limit.
	MaxMsgs int
	// Expires is how long after the request arrived a reply is allowed.
	// 0 (or negative) means no expiry.
	Expires time.Duration
}

// Permissions are what one user may publish and subscribe to.
//
// When Response is set and Publish.Allow is empty, the connection may
// publish replies only: the empty allow list then means "nothing" rather than
// "everything", as in nats-server.
type Permissions struct {
	Publish   SubjectPermission
	Subscribe SubjectPermission
	Response  *ResponsePermission
}

// pubCacheMax bounds the per-checker publish cache. Subjects longer than
// pubCacheMaxKey are checked every time instead of being cached, so a
// client cannot grow the cache past pubCacheMax*pubCacheMaxKey bytes.
const (
	pubCacheMax    = 256
	pubCacheMaxKey = 256
)

type permEntry struct {
	subject []string
	queue   []string // nil for an entry without a queue group
}

type ruleSet struct {
	restrict bool // the allow list applies (it is not "allow everything")
	allow    []permEntry
	deny     []permEntry
}

func (r *ruleSet) open() bool { return !r.restrict && len(r.deny) == 0 }

// policy is the compiled, immutable form of Permissions, shared by all the
// connections of one user.
type policy struct {
	pub  ruleSet
	sub  ruleSet
	resp *ResponsePermission // normalised; nil without allow_responses
}

func compilePermissions(p *Permissions) (*policy, error) {
	if p == nil {
		return nil, nil
	}
	pol := &policy{}
	var err error
	if pol.pub, err = compileRules(p.Publish, false); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if pol.sub, err = compileRules(p.Subscribe, true); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if p.Response != nil {
		r := *p.Response
		if r.MaxMsgs == 0 {
			r.MaxMsgs = 1
		}
		if r.Expires < 0 {
			r.Expires = 0
		}
		pol.resp = &r
		pol.pub.restrict = true
	}
	if pol.pub.open() && pol.sub.open() {
		return nil, nil // nothing to check
	}
	return pol, nil
}

func compileRules(sp SubjectPermission, queues bool) (ruleSet, error) {
	var rs ruleSet
	var err error
	if rs.allow, err = compileEntries(sp.Allow, queues); err != nil {
		return rs, fmt.Errorf("allow: %w", err)
	}
	if rs.deny, err = compileEntries(sp.Deny, queues); err != nil {
		return rs, fmt.Errorf("deny: %w", err)
	}
	rs.restrict = len(rs.allow) > 0
	return rs, nil
}

func compileEntries(list []string, queues bool) ([]permEntry, error) {
	out := make([]permEntry, 0, len(list))
	for _, s := range list {
		subject, queue, hasQueue := protocol.CutQueue(s)
		var e permEntry
		var ok bool
		if !hasQueue || queues {
			e.subject, ok = protocol.SplitFilter(subject)
		}
		if ok && hasQueue {
			e.queue, ok = protocol.SplitFilter(queue)
		}
		if !ok {
			return nil, fmt.Errorf("invalid subject %q", s)
		}
		out = append(out, e)
	}
	return out, nil
}

// publishAllowed checks a subject against the publish lists. The subject is
// taken literally: publishing to "foo.*" is allowed by "foo.*" or "foo.>",
// not by "foo.bar".
func (p *policy) publishAllowed(subject []byte) bool {
	if p.pub.restrict {
		ok := false
		for i := range p.pub.allow {
			if protocol.MatchTokens(subject, p.pub.allow[i].subject) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for i := range p.pub.deny {
		if protocol.MatchTokens(subject, p.pub.deny[i].subject) {
			return false
		}
	}
	return true
}

// subscribeAllowed implements the subscribe rules described on CanSubscribe.
func (p *policy) subscribeAllowed(subject, queue []byte) bool {
	filter, ok := protocol.SplitFilter(string(subject))
	if !ok {
		return false
	}
	if p.sub.restrict {
		plain, queued, queueOK := false, false, false
		for _, e := range p.sub.allow {
			if !protocol.SubsetOfTokens(filter, e.subject) {
				continue
			}
			if e.queue == nil {
				plain = true
				continue
			}
			queued = true
			if len(queue) > 0 && protocol.MatchTokens(queue, e.queue) {
				queueOK = true
			}
		}
		if len(queue) > 0 && queued {
			if !queueOK {
				return false
			}
		} else if !plain {
			return false
		}
	}
	for i := range p.sub.deny {
		e := &p.sub.deny[i]
		if protocol.MatchTokens(subject, e.subject) && e.appliesTo(queue) {
			return false
		}
	}
	return true
}

// appliesTo reports whether a subscribe deny entry concerns a subscription
// in queue group queue (empty for a plain subscription): an entry without a
// queue applies to every subscription, one with a queue pattern only to
// queue subscriptions whose queue it matches.
func (e *permEntry) appliesTo(queue []byte) bool {
	return e.queue == nil || (len(queue) > 0 && protocol.MatchTokens(queue, e.queue))
}

// deliveryDenied reports whether a message on subject must be withheld from
// a subscription in queue group queue.
func (p *policy) deliveryDenied(subject, queue []byte) bool {
	for i := range p.sub.deny {
		e := &p.sub.deny[i]
		if e.appliesTo(queue) && protocol.MatchTokens(subject, e.subject) {
			return true
		}
	}
	return false
}

// Checker answers permission questions for one connection. A nil *Checker
// allows everything.
//
// A Checker is safe for concurrent use. Its publish cache makes a repeated
// CanPublish on the same subject a map lookup under an uncontended mutex,
// with no allocation.
type Checker struct {
	pol     *policy
	replies *ReplyTracker

	mu       sync.Mutex
	pubCache map[string]bool

	dmu       sync.Mutex
	denyCache map[string]bool // plain subscriptions only
}

func newChecker(pol *policy) *Checker {
	if pol == nil {
		return nil
	}
	c := &Checker{pol: pol}
	if pol.resp != nil {
		c.replies = NewReplyTracker(*pol.resp, 0)
	}
	return c
}

// CanPublish reports whether the connection may publish to subject.
//
// With response permissions, a subject outside the publish allow list is
// still allowed if it is a reply subject recorded in Replies (even if it
// matches a publish deny entry, as in nats-server); such a call uses up one
// of that reply's allowed messages, so call CanPublish once per publish.
func (c *Checker) CanPublish(subject []byte) bool {
	if c == nil {
		return true
	}
	if c.pol.pub.open() {
		return true
	}
	if c.cachedPublish(subject) {
		return true
	}
	return c.replies != nil && c.replies.Allow(subject)
}

// PublishAllowed reports whether the publish permissions alone allow
// subject: unlike CanPublish it ignores response permissions and uses
// nothing up. The server asks it before publishing somewhere on the
// connection's behalf (a reply subject it answers, a deliver subject).
func (c *Checker) PublishAllowed(subject []byte) bool {
	if c == nil || c.pol.pub.open() {
		return true
	}
	return c.cachedPublish(subject)
}

func (c *Checker) cachedPublish(subject []byte) bool {
	if len(subject) > pubCacheMaxKey {
		return c.pol.publishAllowed(subject)
	}
	c.mu.Lock()
	ok, hit := c.pubCache[string(subject)]
	if !hit {
		ok = c.pol.publishAllowed(subject)
		c.pubCache = cacheStore(c.pubCache, subject, ok)
	}
	c.mu.Unlock()
	return ok
}

// cacheStore adds subject to a bounded cache of check results, creating
// the map if needed, and returns it.
func cacheStore(m map[string]bool, subject []byte, v bool) map[string]bool {
	if m == nil {
		m = make(map[string]bool)
	} else if len(m) >= pubCacheMax {
		// Drop a quarter, in map order: cheap, and the hot subjects come
		// straight back.
		drop := pubCacheMax / 4
		for k := range m {
			delete(m, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	m[string(subject)] = v
	return m
}

// CanSubscribe reports whether the connection may subscribe to subject, in
// queue group queue (empty for a plain subscription). The subject may be a
// wildcard filter:
//
//   - An empty allow list allows every filter. Otherwise the filter must lie
//     within one allow entry: every subject it can match must be matched by
//     that entry ("foo.>" allows "foo.*" and "foo.bar.>", "foo.*" does not
//     allow "foo.>").
//   - Allow entries with a queue group apply to queue subscriptions only.
//     If any of them covers the filter, a queue subscription is allowed only
//     when its queue matches one of those entries' queue patterns; otherwise
//     it falls back to the plain entries. A plain subscription needs a plain
//     entry.
//   - A filter is rejected when, taken literally, it is matched by a deny
//     entry: deny "foo.*" rejects "foo.bar" and "foo.*", deny "foo.>" rejects
//     "foo.>". A wider filter that merely overlaps a deny entry is accepted,
//     as in nats-server: "foo.>" with deny "foo.secret" is allowed, and the
//     denied subjects are withheld at delivery (see SubscribeDeniedOverlap
//     and DeniesDelivery). A deny entry with a queue group applies only to
//     queue subscriptions whose queue matches it.
//   - An invalid filter is rejected when any subscribe permission is set.
func (c *Checker) CanSubscribe(subject, queue []byte) bool {
	if c == nil || c.pol.sub.open() {
		return true
	}
	return c.pol.subscribeAllowed(subject, queue)
}

// SubscribeDeniedOverlap reports whether a subscription that CanSubscribe
// accepted can match subjects denied to it: its filter overlaps a deny
// entry that applies to its queue group. Messages delivered on such a
// subscription must be checked with DeniesDelivery; others never need the
// check. An invalid filter reports false.
func (c *Checker) SubscribeDeniedOverlap(subject, queue []byte) bool {
	if c == nil || len(c.pol.sub.deny) == 0 {
		return false
	}
	filter, ok := protocol.SplitFilter(string(subject))
	if !ok {
		return false
	}
	for i := range c.pol.sub.deny {
		e := &c.pol.sub.deny[i]
		if e.appliesTo(queue) && protocol.OverlapTokens(filter, e.subject) {
			return true
		}
	}
	return false
}

// DeniesDelivery reports whether a message published to subject (a literal
// subject) must not be delivered to a subscription of this connection in
// queue group queue (empty for a plain subscription), because a subscribe
// deny entry matches it. Results for plain subscriptions are cached like
// CanPublish's, so a repeated call on the same subject does not allocate.
func (c *Checker) DeniesDelivery(subject, queue []byte) bool {
	if c == nil || len(c.pol.sub.deny) == 0 {
		return false
	}
	if len(queue) > 0 || len(subject) > pubCacheMaxKey {
		return c.pol.deliveryDenied(subject, queue)
	}
	c.dmu.Lock()
	denied, hit := c.denyCache[string(subject)]
	if !hit {
		denied = c.pol.deliveryDenied(subject, nil)
		c.denyCache = cacheStore(c.denyCache, subject, denied)
	}
	c.dmu.Unlock()
	return denied
}

// Replies returns the tracker of reply subjects this connection may answer,
// or nil if it has no response permissions. The server records the reply
// subject of every message it delivers to the connection with
// Replies().Record.
func (c *Checker) Replies() *ReplyTracker {
	if c == nil {
		return nil
	}
	return c.replies
}
