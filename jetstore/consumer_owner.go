package jetstore

import (
	"encoding/json"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Push consumers publish only where their owner may publish. The deliver
// subject is checked against the requester's permissions when a push
// consumer is created or updated (onbehalf.go), but a durable consumer
// outlives that connection, and a reload can take the permission away. So
// the consumer records its owner: the user (and account) who created or
// last updated it, kept in consumer.json. Before each round of deliveries
// it asks the broker whether the server may still publish to the deliver
// subject for that user; while it may not, nothing is delivered, the
// consumer says why (ConsumerInfo and /jsz "delivery_denied", a warning in
// the log, an advisory), and it looks again every interestPoll, so
// delivery resumes once a reload gives the permission back.
//
// A consumer created by a token or unauthenticated client, by the server,
// or before owners were recorded has no owner and delivers as it always
// did: such creators have no permissions to lose.

// Owner is the user a consumer publishes for.
type consumerOwner struct {
	User    string `json:"user"`
	Account string `json:"account,omitempty"`
}

// PermissionChecker is offered by a broker with permissions:
// PublishPermission returns nil when the server may publish to subject
// for user of account, who need not be connected, and otherwise an error
// saying why not.
type PermissionChecker interface {
	PublishPermission(user, account, subject string) error
}

// ownedSender is the optional part of a protocol.Sender that names the
// user the client authenticated as.
type ownedSender interface {
	Owner() (user, account string)
}

// ownerOf returns the owner to record for a request from sender, nil when
// it has none.
func ownerOf(sender protocol.Sender) *consumerOwner {
	o, ok := sender.(ownedSender)
	if !ok {
		return nil
	}
	user, account := o.Owner()
	if user == "" {
		return nil
	}
	return &consumerOwner{User: user, Account: account}
}

func sameOwner(a, b *consumerOwner) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

const (
	typeDeliveryDenied = "io.wren.jetstream.advisory.v1.delivery_denied"
	subjDeliveryDenied = advisoryPrefix + "DELIVERY_DENIED."
)

// deliveryDeniedAdvisory tells operators that a push consumer stopped or
// resumed delivering because of its owner's permissions.
type deliveryDeniedAdvisory struct {
	Type           string    `json:"type"`
	ID             string    `json:"id"`
	Time           time.Time `json:"timestamp"`
	Stream         string    `json:"stream"`
	Consumer       string    `json:"consumer"`
	DeliverSubject string    `json:"deliver_subject"`
	User           string    `json:"user"`
	Account        string    `json:"account,omitempty"`
	Denied         bool      `json:"denied"`
	Reason         string    `json:"reason,omitempty"`
}

// mayDeliver reports whether the push consumer may publish to its deliver
// subject now, noting a change of verdict (logged and advised once, after
// mu is released). mu is held.
func (c *consumer) mayDeliver() bool {
	why := ""
	if o := c.owner; o != nil {
		if pc, ok := c.js.bus.(PermissionChecker); ok {
			if err := pc.PublishPermission(o.User, o.Account, c.cfg.DeliverSubject); err != nil {
				why = err.Error()
			}
		}
	}
	if why != c.push.denied {
		c.push.denied = why
		c.push.deniedNews = true
	}
	return why == ""
}

// reportDenied logs and advises a change of the delivery verdict. It runs
// on the consumer's goroutine without mu.
func (c *consumer) reportDenied() {
	c.mu.Lock()
	if !c.push.deniedNews {
		c.mu.Unlock()
		return
	}
	c.push.deniedNews = false
	why, owner, subject := c.push.denied, c.owner, c.cfg.DeliverSubject
	c.mu.Unlock()
	if owner == nil {
		// Its owner was replaced by one without permissions.
		owner = &consumerOwner{}
	}
	if why != "" {
		c.js.log.Warn("push consumer stopped delivering: its owner may not publish to its deliver subject",
			"stream", c.st.name, "consumer", c.name, "deliver_subject", subject, "user", owner.User, "reason", why)
	} else {
		c.js.log.Info("push consumer delivers again: its owner may publish to its deliver subject",
			"stream", c.st.name, "consumer", c.name, "deliver_subject", subject, "user", owner.User)
	}
	a := deliveryDeniedAdvisory{
		Type: typeDeliveryDenied, ID: newID(), Time: time.Now().UTC(),
		Stream: c.st.name, Consumer: c.name, DeliverSubject: subject,
		User: owner.User, Account: owner.Account, Denied: why != "", Reason: why,
	}
	if b, err := json.Marshal(&a); err == nil {
		c.js.bus.Publish(subjDeliveryDenied+c.st.name+"."+c.name, "", nil, b)
	}
}

// setOwner records who created or updated the consumer, persisting it
// with the consumer's config. mu is held.
func (c *consumer) setOwner(o *consumerOwner) error {
	if sameOwner(c.owner, o) {
		return nil
	}
	old := c.owner
	c.owner = o
	if c.dir != "" {
		if err := c.saveMeta(); err != nil {
			c.owner = old
			return err
		}
	}
	return nil
}

// RecheckOwners has every push consumer with an owner look at its
// owner's permissions again at once, after the broker's configuration
// changed.
func (js *JetStream) RecheckOwners() {
	for _, st := range js.sortedStreams() {
		st.mu.RLock()
		for _, c := range st.consumers {
			c.notify()
		}
		st.mu.RUnlock()
	}
}
