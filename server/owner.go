package server

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/protocol"
)

// Publishing for a user who is not connected. A durable push consumer
// delivers to its deliver subject long after the connection that created
// it has gone, and a reload can take the publish permission away from the
// user who created it. The stream layer records that user (Owner) and asks,
// each time it delivers, whether the server may still publish there for
// them (PublishPermission): the user's current publish permissions allow
// the subject, or nobody but that user's own connections listens on it
// (its inbox), the rule mayReach applies to a connected client.

// Owner reports the user and account c is authenticated as, for the stream
// layer to record as the owner of what c creates. It is empty for a token
// or unauthenticated connection (which has no permissions), for a leaf
// link and for the server's own connections.
func (c *client) Owner() (user, account string) {
	if c.kind != kindClient {
		return "", ""
	}
	c.mu.Lock()
	user = c.auth.user
	c.mu.Unlock()
	if user == "" {
		return "", ""
	}
	return user, c.account()
}

// ownerCache holds the identities PublishPermission looked up, by user,
// until the next reload.
type ownerCache struct {
	mu  sync.Mutex
	gen *auth.Authenticator // the configuration the entries were looked up in
	ids map[string]ownerEntry
}

type ownerEntry struct {
	id  *auth.Identity
	err error
}

// identity returns user's identity under the running configuration.
func (s *Server) ownerIdentity(user string) (*auth.Identity, error) {
	a := s.auth.cur.Load()
	oc := &s.owners
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.gen != a || oc.ids == nil {
		oc.gen, oc.ids = a, make(map[string]ownerEntry)
	}
	e, ok := oc.ids[user]
	if !ok {
		e.id, e.err = a.Lookup(user)
		if len(oc.ids) < 4096 {
			oc.ids[user] = e
		}
	}
	return e.id, e.err
}

// PublishPermission reports, as an error saying why not, whether the
// server may publish to subject (a literal subject) for user of account,
// who need not be connected: the user is still configured, still in that
// account, and its publish permissions allow subject, or only its own
// connections subscribe to subject. Nil means it may.
func (ip *InProc) PublishPermission(user, account, subject string) error {
	s := ip.c.srv
	id, err := s.ownerIdentity(user)
	if err != nil {
		return fmt.Errorf("user %s is no longer configured", strconv.Quote(user))
	}
	acc := globalAccount
	if s.sys != nil && s.isSystemUser(id) {
		acc = s.sys.name
	}
	if account != "" && acc != account {
		return fmt.Errorf("user %s is no longer in account %s", strconv.Quote(user), strconv.Quote(account))
	}
	if !protocol.ValidLiteral(subject) {
		return fmt.Errorf("invalid subject %s", strconv.Quote(subject))
	}
	if id.Perms.PublishAllowed(bytesOf(subject)) || s.onlyUserListens(user, subject) {
		return nil
	}
	return fmt.Errorf("user %s may not publish to %s", strconv.Quote(user), strconv.Quote(subject))
}

// onlyUserListens reports whether every subscription matching subject is
// a connection of user (nobody listening counts), ignoring subscriptions
// to ">" alone as mayReach does.
func (s *Server) onlyUserListens(user, subject string) bool {
	r := s.sl.matchBytes(bytesOf(subject))
	mine := func(sub *subscription) bool {
		if sub.subject == ">" {
			return true
		}
		c := sub.client
		if c.kind != kindClient || sub.handler != nil {
			return false
		}
		c.mu.Lock()
		u := c.auth.user
		c.mu.Unlock()
		return u == user
	}
	for _, sub := range r.psubs {
		if !mine(sub) {
			return false
		}
	}
	for i := range r.qsubs {
		for _, sub := range r.qsubs[i].subs {
			if !mine(sub) {
				return false
			}
		}
	}
	return true
}
