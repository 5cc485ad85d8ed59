package mqtt

import (
	"bytes"
	"errors"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
	"github.com/wrenmq/wren/server"
)

// publish handles a client's PUBLISH: topic alias, permissions, retained
// message, routing through the broker, and the acknowledgement, which for
// QoS 1 and 2 waits until the store holds every session's copy.
func (c *conn) publish(p *mqtt.Publish) error {
	var subj []byte
	if c.v == mqtt.V5 {
		if a, ok := p.Props.Get(mqtt.PropTopicAlias); ok {
			if a.Num == 0 || int(a.Num) > c.l.opts.TopicAliasMaximum {
				return &mqtt.Error{Code: mqtt.TopicAliasInvalid, Msg: "topic alias out of range"} // [MQTT-3.3.2-9]
			}
			if len(p.Topic) == 0 {
				if subj = c.aliases[uint16(a.Num)]; subj == nil {
					return &mqtt.Error{Code: mqtt.ProtocolError, Msg: "unknown topic alias"}
				}
				p.Topic = mqtt.SubjectToTopic(nil, subj)
			} else {
				s, err := mqtt.TopicToSubject(nil, p.Topic)
				if err != nil {
					return err
				}
				if c.aliases == nil {
					c.aliases = make(map[uint16][]byte)
				}
				c.aliases[uint16(a.Num)] = s
				subj = s
			}
		} else if len(p.Topic) == 0 {
			return &mqtt.Error{Code: mqtt.ProtocolError, Msg: "empty topic without a topic alias"}
		}
	}
	if subj == nil {
		var err error
		if subj, err = mqtt.TopicToSubject(nil, p.Topic); err != nil {
			return err
		}
	}
	s := c.s
	ackKind := mqtt.PUBACK
	if p.QoS == 2 {
		ackKind = mqtt.PUBREC
	}
	if p.QoS > 0 {
		c.mu.Lock()
		waiting := len(c.acks)
		c.mu.Unlock()
		s.mu.Lock()
		waiting += len(s.rcvd)
		dup := p.QoS == 2 && s.rcvd[p.ID]
		s.mu.Unlock()
		if dup {
			// Sent again before our PUBREC arrived: routed once already.
			c.queueAck(mqtt.Ack{Kind: ackKind, ID: p.ID})(nil)
			return nil
		}
		if waiting >= c.l.opts.MaxInflight {
			return &mqtt.Error{Code: mqtt.ReceiveMaximumExceeded, Msg: "receive maximum exceeded"} // [MQTT-3.3.4-9]
		}
	}
	if reserved(subj) || !c.bs.CanPublish(subj) {
		c.debug("mqtt publish not authorized", "subject", string(subj))
		if p.QoS > 0 {
			code := byte(0)
			if c.v == mqtt.V5 {
				code = mqtt.NotAuthorized
			}
			c.queueAck(mqtt.Ack{Kind: ackKind, ID: p.ID, Code: code})(nil)
		}
		return nil
	}
	m, code := fromPublish(p, subj, time.Now())
	if code != 0 {
		return &mqtt.Error{Code: code, Msg: "response topic is not a valid topic name"}
	}
	if corr, ok := correlation(p); ok && m.reply != nil {
		m.reply = c.replySubject(m.reply, corr)
	}
	p0 := c.l.puts.Load()
	if err := c.l.route(c.bs, m); err != nil {
		if errors.Is(err, server.ErrClosed) {
			return errClose
		}
		return &mqtt.Error{Code: mqtt.TopicNameInvalid, Msg: err.Error()}
	}
	if p.QoS == 0 {
		return nil
	}
	if p.QoS == 2 {
		s.mu.Lock()
		if s.rcvd == nil {
			s.rcvd = make(map[uint16]bool)
		}
		s.rcvd[p.ID] = true
		if s.persistent() {
			c.l.put(s.rcvdKey(p.ID), []byte{1}, nil)
		}
		s.mu.Unlock()
	}
	done := c.queueAck(mqtt.Ack{Kind: ackKind, ID: p.ID})
	if c.l.puts.Load() != p0 {
		c.l.store.Sync(done)
	} else {
		done(nil)
	}
	return nil
}

// reserved reports whether a subject belongs to the broker's own MQTT
// state ($MQTT.>, the stream layer's record of sessions and retained
// messages): MQTT clients may neither publish nor subscribe there.
func reserved(subj []byte) bool {
	return bytes.HasPrefix(subj, []byte("$MQTT.")) || string(subj) == "$MQTT"
}

// route publishes m into the broker, keeping it as the retained message of
// its subject first when it carries the retain flag. Setting and routing a
// retained message is one step for subscribe (see subMu).
func (l *Listener) route(bs *server.Session, m *message) error {
	if m.retain {
		l.subMu.RLock()
		defer l.subMu.RUnlock()
		l.retain(m)
	}
	return bs.Publish(m.subject, m.reply, m.header, m.data)
}

// retain sets, replaces or (with an empty payload) clears the retained
// message of m's subject [MQTT-3.3.1-6, MQTT-3.3.1-10].
func (l *Listener) retain(m *message) {
	key := "r." + string(m.subject)
	if len(m.data) == 0 {
		if l.ret.set(m.subject, nil) {
			l.del(key, nil)
		}
		return
	}
	rm := m.clone()
	l.ret.set(rm.subject, rm)
	l.put(key, rm.encode(nil), nil)
}

// publishWill publishes a will through the broker session of the
// connection that set it.
func (l *Listener) publishWill(bs *server.Session, w *will) {
	if err := l.route(bs, w.m); err != nil {
		l.log.Debug("mqtt will not published", "subject", string(w.m.subject), "error", err)
	}
}

// acked handles PUBACK, PUBREC, PUBREL and PUBCOMP.
func (s *session) acked(c *conn, a *mqtt.Ack) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch a.Kind {
	case mqtt.PUBREL: // inbound QoS 2, step 3
		code := byte(0)
		if s.rcvd[a.ID] {
			delete(s.rcvd, a.ID)
			if s.persistent() {
				s.l.del(s.rcvdKey(a.ID), nil)
			}
		} else if c.v == mqtt.V5 {
			code = mqtt.PacketIDNotFound
		}
		c.queueAck(mqtt.Ack{Kind: mqtt.PUBCOMP, ID: a.ID, Code: code})(nil)
		return nil
	case mqtt.PUBACK:
		p := s.inflight[a.ID]
		if p == nil || p.qos != 1 {
			return nil // [MQTT-4.3.2]: an unknown id is ignored
		}
		s.doneLocked(p)
	case mqtt.PUBREC:
		p := s.inflight[a.ID]
		if p == nil || p.qos != 2 {
			if c.v == mqtt.V5 {
				c.send(&mqtt.Ack{Kind: mqtt.PUBREL, ID: a.ID, Code: mqtt.PacketIDNotFound})
			}
			return nil
		}
		if a.Code >= 0x80 {
			s.doneLocked(p) // the client refused it: nothing more to send
			break
		}
		if !p.rel {
			p.rel = true
			if p.seq > 0 {
				s.l.put(s.msgKey(p.seq), p.encode(), nil)
			}
		}
		c.send(&mqtt.Ack{Kind: mqtt.PUBREL, ID: a.ID})
		return nil
	case mqtt.PUBCOMP:
		p := s.inflight[a.ID]
		if p == nil || !p.rel {
			return nil
		}
		s.doneLocked(p)
	}
	s.fillLocked()
	return nil
}

// doneLocked forgets a message the client has acknowledged.
func (s *session) doneLocked(p *pending) {
	delete(s.inflight, p.id)
	if p.seq > 0 {
		s.l.del(s.msgKey(p.seq), nil)
	}
}
