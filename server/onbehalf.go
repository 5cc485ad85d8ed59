package server

import (
	"strconv"

	"github.com/wrenmq/wren/protocol"
)

// Publishing on a client's behalf. In-process subscribers (the stream
// layer) answer a client's message on its reply subject: API responses,
// the messages of a pull request or a direct get, PubAcks. They may also
// publish later to subjects the client named (a push consumer's deliver
// subject, where a dead-letter replay sends its messages). Without a
// check, a client could have the server publish, with stored headers and
// payloads, where it may not publish itself: into another stream's
// subjects, or to another client's subscriptions.
//
// So a subject the server publishes to for a client must be one the
// client may publish to, or one nobody but that client listens on: its
// own inbox, which the usual permissions ("subscribe _INBOX.>", no publish
// right there) leave it no publish permission for. nats-server v2.15.2
// checks none of this (nats-server#8274).

// MayPublish implements protocol.Sender: whether the server may publish to
// subject on c's behalf.
func (c *client) MayPublish(subject string) bool {
	return c.mayReach(bytesOf(subject))
}

// mayReach reports whether c's publish permissions allow subject, or only
// c's own subscriptions match it. A subscription to ">" alone does not
// count: it receives everything anyway (an operator's `nats sub ">"`), and
// it must not stop every restricted client's JetStream requests.
func (c *client) mayReach(subject []byte) bool {
	if c.perms.Load().PublishAllowed(subject) {
		return true
	}
	r := c.srv.sl.matchBytes(subject)
	for _, sub := range r.psubs {
		if sub.client != c && sub.subject != ">" {
			return false
		}
	}
	for i := range r.qsubs {
		for _, sub := range r.qsubs[i].subs {
			if sub.client != c && sub.subject != ">" {
				return false
			}
		}
	}
	return true
}

// permitReply refuses, with -ERR 'Permissions Violation for Publish with
// Reply of "<reply>"', a message of a client with permissions that reaches
// an in-process subscriber with a reply subject the server may not publish
// to for it (see mayReach). Nothing of the message is delivered then.
func (c *client) permitReply(subject, reply []byte) bool {
	if len(reply) == 0 || c.perms.Load() == nil || !c.pc.match(subject).inProc() {
		return true
	}
	if c.mayReach(reply) {
		return true
	}
	c.sendErr("Permissions Violation for Publish with Reply of " + strconv.Quote(string(reply)))
	c.srv.log.Debug("reply violation: the server would answer where the client may not publish",
		"cid", c.cid, "user", c.userName(), "subject", string(subject), "reply", string(reply))
	return false
}

// inProc reports whether an in-process subscription is among r's.
func (r *matchResult) inProc() bool {
	for _, sub := range r.psubs {
		if sub.handler != nil {
			return true
		}
	}
	for i := range r.qsubs {
		for _, sub := range r.qsubs[i].subs {
			if sub.handler != nil {
				return true
			}
		}
	}
	return false
}

// sender is what in-process subscribers learn about who published: the
// socket client or leaf link (whose messages come from the hub's clients),
// or nil when the server itself publishes.
func (p *producer) sender() protocol.Sender {
	if p.c.kind == kindInProc {
		return nil
	}
	return p.c
}
