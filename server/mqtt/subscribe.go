package mqtt

import (
	"errors"
	"time"

	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/protocol/mqtt"
	"github.com/wrenmq/wren/server"
)

// subscribe handles SUBSCRIBE: each filter becomes broker subscriptions
// (its parent too for "a/#", a queue group for "$share/<group>/..."), the
// SUBACK grants min(requested, 2) or refuses, and retained messages follow
// as the Retain Handling option says.
func (c *conn) subscribe(p *mqtt.Subscribe) error {
	subID := p.Props.Num(mqtt.PropSubscriptionID, 0)
	codes := make([]byte, len(p.Topics))
	s := c.s
	// The broker subscriptions and the retained messages they start with
	// are taken together, with no retained message set and routed in
	// between: one set before is replayed and was not delivered live, one
	// set after is delivered live only.
	c.l.subMu.Lock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var replay []retainedFor
	for i, t := range p.Topics {
		ms, isNew, code := s.addSubLocked(c, t, subID)
		if code >= 0x80 && c.v != mqtt.V5 {
			code = mqtt.SubackFailure311
		}
		codes[i] = code
		if ms != nil && ms.group == "" {
			if rh := t.RetainHandling(); rh == 0 || rh == 1 && isNew {
				replay = append(replay, retainedFor{ms, s.l.retainedMatching(ms)})
			}
		}
	}
	c.l.subMu.Unlock()
	s.saveLocked()
	c.send(&mqtt.Suback{ID: p.ID, Codes: codes})
	now := time.Now()
	for _, r := range replay {
		s.replayRetainedLocked(c, r, now)
	}
	return nil
}

// retainedFor is a new subscription and the retained messages it starts
// with.
type retainedFor struct {
	ms    *msub
	found []*message
}

// addSubLocked adds or replaces one subscription; it returns the reason
// code for the SUBACK.
func (s *session) addSubLocked(c *conn, t mqtt.Subscription, subID uint32) (*msub, bool, byte) {
	ms, code := newMsub(t.Filter, t.Opts, subID)
	if code != 0 {
		return nil, false, code
	}
	key := ms.filter
	for _, subj := range ms.nats {
		if reserved([]byte(subj)) {
			return nil, false, mqtt.NotAuthorized
		}
	}
	old := s.subs[key]
	if old != nil {
		old.drop()
		delete(s.subs, key)
	}
	if err := s.subscribeLocked(ms); err != nil {
		if errors.Is(err, server.ErrPermission) {
			return nil, false, mqtt.NotAuthorized
		}
		return nil, false, mqtt.UnspecifiedError
	}
	s.subs[key] = ms
	return ms, old == nil, min(t.QoS(), 2)
}

// newMsub checks an MQTT filter and works out the broker subscriptions it
// needs; a non-zero code refuses it.
func newMsub(f []byte, opts byte, subID uint32) (*msub, byte) {
	group, filter, shared, err := mqtt.ShareGroup(f)
	if err != nil {
		return nil, mqtt.TopicFilterInvalid
	}
	if shared && opts&4 != 0 {
		return nil, mqtt.TopicFilterInvalid // [MQTT-3.8.3-4]: no No Local on shared subscriptions
	}
	subj, err := mqtt.FilterToSubject(nil, filter)
	if err != nil {
		return nil, mqtt.TopicFilterInvalid
	}
	ms := &msub{filter: string(f), opts: opts, subID: subID, group: string(group), nats: []string{string(subj)}}
	if mqtt.NeedsParent(subj) {
		ms.nats = append(ms.nats, string(subj[:len(subj)-2]))
	}
	return ms, 0
}

// subscribeLocked makes ms's broker subscriptions on the session's broker
// session. Those it has on another broker session (the client's previous
// connection) are moved over, each in one step, so that no message
// published meanwhile is lost or delivered twice.
func (s *session) subscribeLocked(ms *msub) error {
	prev := ms.bsubs
	ms.bsubs = make([]*server.Subscription, len(ms.nats))
	var h func(*protocol.Msg)
	var err error
	for i, subj := range ms.nats {
		var x *server.Subscription
		if i < len(prev) && prev[i] != nil {
			x, err = s.bs.Move(prev[i])
			if err != nil {
				prev[i].Unsubscribe()
			}
			prev[i] = nil
		} else {
			if h == nil {
				h = s.handler(ms)
			}
			x, err = s.bs.Subscribe(subj, ms.group, ms.opts&4 != 0, h)
		}
		if err != nil && i > 0 && errors.Is(err, server.ErrPermission) {
			err = nil
			continue // "a/#" allowed on a.> but not on a: only a.>
		}
		if err != nil {
			break
		}
		ms.bsubs[i] = x
	}
	if err != nil {
		for _, x := range prev {
			if x != nil {
				x.Unsubscribe()
			}
		}
		ms.drop()
		if s.subs[ms.filter] == ms {
			delete(s.subs, ms.filter)
		}
		return err
	}
	return nil
}

// retainedMatching returns the retained messages ms's subjects match.
func (l *Listener) retainedMatching(ms *msub) []*message {
	var found []*message
	for _, subj := range ms.nats {
		l.ret.match([]byte(subj), func(m *message) { found = append(found, m) })
	}
	return found
}

// replayRetainedLocked sends the retained messages a new subscription
// starts with that the session's user may receive, with the retain flag
// set.
func (s *session) replayRetainedLocked(c *conn, r retainedFor, now time.Time) {
	for _, m := range r.found {
		if !c.bs.MayReceive(m.subject) {
			continue
		}
		s.deliverLocked(m, min(m.qos, r.ms.qos()), r.ms.subID, true, now)
	}
}

// unsubscribe handles UNSUBSCRIBE.
func (c *conn) unsubscribe(p *mqtt.Unsubscribe) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := make([]byte, len(p.Filters))
	for i, f := range p.Filters {
		ms := s.subs[string(f)]
		if ms == nil {
			codes[i] = mqtt.NoSubscriptionExisted
			continue
		}
		ms.drop()
		delete(s.subs, string(f))
	}
	s.saveLocked()
	c.send(&mqtt.Unsuback{ID: p.ID, Codes: codes})
	return nil
}
