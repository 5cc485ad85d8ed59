package mqtt

import (
	"sort"
	"time"

	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/protocol/mqtt"
)

// handler is the broker subscription handler of ms; it runs on the
// publisher's goroutine.
func (s *session) handler(ms *msub) func(*protocol.Msg) {
	wildFirst := len(ms.nats) > 0 && (ms.nats[0][0] == '*' || ms.nats[0][0] == '>')
	return func(bm *protocol.Msg) {
		if wildFirst && len(bm.Subject) > 0 && bm.Subject[0] == '$' {
			return // [MQTT-4.7.2-1]
		}
		now := time.Now()
		var durable func([]byte) bool
		if ms.qos() > 0 {
			durable = s.l.durable // only a QoS 1/2 subscription asks
		}
		m := fromMsg(bm, durable, now)
		qos := min(m.qos, ms.qos())
		retain := m.retain && ms.opts&8 != 0 // Retain As Published
		s.mu.Lock()
		s.deliverLocked(&m, qos, ms.subID, retain, now)
		s.mu.Unlock()
	}
}

// deliverLocked sends m to the client at qos, or queues it: QoS 0 only
// reaches a connected client; QoS 1 and 2 wait in the session (and the
// store, for a persistent session) until the client acknowledges them.
func (s *session) deliverLocked(m *message, qos byte, subID uint32, retain bool, now time.Time) {
	if s.ended {
		return
	}
	c := s.c
	if qos == 0 {
		if c != nil {
			s.sendLocked(c, m, 0, 0, subID, retain, false, now)
		}
		return
	}
	if c == nil && !s.persistent() {
		return
	}
	if len(s.queue) >= s.l.opts.MaxQueued {
		if s.l.dropped.Add(1)&1023 == 1 {
			s.l.log.Warn("mqtt session queue full, dropping messages", "client_id", s.id, "max_queued", s.l.opts.MaxQueued)
		}
		return
	}
	p := &pending{m: m.clone(), qos: qos, subID: subID, rap: retain}
	if s.persistent() {
		s.seq++
		p.seq = s.seq
		s.l.put(s.msgKey(p.seq), p.encode(), nil)
	}
	if c != nil && len(s.queue) == 0 && len(s.inflight) < c.window {
		s.sendPendingLocked(c, p, now)
		return
	}
	s.queue = append(s.queue, p)
}

// sendPendingLocked gives p a packet id and sends it.
func (s *session) sendPendingLocked(c *conn, p *pending, now time.Time) {
	for {
		s.nextID++
		if s.nextID != 0 && s.inflight[s.nextID] == nil {
			break
		}
	}
	p.id = s.nextID
	if s.inflight == nil {
		s.inflight = make(map[uint16]*pending)
	}
	s.inflight[p.id] = p
	if p.qos == 2 && p.seq > 0 {
		// Its id must survive a restart: the client may hold it already.
		s.l.put(s.msgKey(p.seq), p.encode(), nil)
	}
	if !s.sendLocked(c, p.m, p.qos, p.id, p.subID, p.rap, false, now) {
		s.doneLocked(p) // expired, or larger than the client takes
	}
}

// fillLocked sends queued messages while the window has room.
func (s *session) fillLocked() {
	c := s.c
	if c == nil {
		return
	}
	now := time.Now()
	for len(s.queue) > 0 && len(s.inflight) < c.window {
		p := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if !c.bs.MayReceive(p.m.subject) {
			s.doneLocked(p)
			continue
		}
		s.sendPendingLocked(c, p, now)
	}
	if len(s.queue) == 0 {
		s.queue = nil
	}
}

// resendLocked sends a reconnected client what it has not acknowledged, in
// the order first sent, with the same packet ids [MQTT-4.4.0-1], then what
// was queued.
func (s *session) resendLocked() {
	c := s.c
	now := time.Now()
	list := make([]*pending, 0, len(s.inflight))
	for _, p := range s.inflight {
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].seq != list[j].seq {
			return list[i].seq < list[j].seq
		}
		return list[i].id < list[j].id
	})
	for _, p := range list {
		if p.rel {
			c.send(&mqtt.Ack{Kind: mqtt.PUBREL, ID: p.id})
			continue
		}
		if !c.bs.MayReceive(p.m.subject) || !s.sendLocked(c, p.m, p.qos, p.id, p.subID, p.rap, true, now) {
			s.doneLocked(p)
		}
	}
	s.fillLocked()
}

// sendLocked writes one PUBLISH; false when m expired or is larger than the
// client's Maximum Packet Size.
func (s *session) sendLocked(c *conn, m *message, qos byte, id uint16, subID uint32, retain, dup bool, now time.Time) bool {
	s.topic = mqtt.SubjectToTopic(s.topic[:0], m.subject)
	if !m.toPublish(&s.pub, qos, c.v, s.topic, s.props[:0], now) {
		return false
	}
	s.pub.ID, s.pub.Retain, s.pub.Dup = id, retain, dup
	var alias uint16
	fresh := false
	if c.v == mqtt.V5 {
		if subID > 0 {
			s.pub.Props = s.pub.Props.AddNum(mqtt.PropSubscriptionID, subID)
		}
		if c.aliasOut != nil {
			if alias, fresh = c.aliasOut.pick(s.topic); alias != 0 {
				s.pub.Props = s.pub.Props.AddNum(mqtt.PropTopicAlias, uint32(alias))
				if !fresh {
					s.pub.Topic = nil
				}
			}
		}
	}
	s.props = s.pub.Props[:0]
	ok := c.send(&s.pub)
	if ok && fresh {
		c.aliasOut.keep(s.topic, alias)
	}
	s.pub = mqtt.Publish{}
	return ok
}
