package mqtt

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/protocol/mqtt"
)

// MQTT properties travel through the broker in the NATS header block, so
// NATS clients see them and can set them:
//
//	MQTT                      NATS
//	user property k=v         header k: v
//	content type              Content-Type
//	payload format indicator  Mqtt-Format: 1
//	message expiry interval   Mqtt-Expiry: <seconds>
//	correlation data          Mqtt-Correlation: <base64>
//	response topic            the reply subject
//	QoS 1 or 2                Mqtt-Qos: 1 or 2
//	retain flag               Mqtt-Retain: 1
//
// A message without any of them has no header block at all.
const (
	hdrQoS         = "Mqtt-Qos"
	hdrRetain      = "Mqtt-Retain"
	hdrFormat      = "Mqtt-Format"
	hdrExpiry      = "Mqtt-Expiry"
	hdrCorrelation = "Mqtt-Correlation"
	hdrContentType = "Content-Type"
)

// validHeaderName reports whether a user property name can be a NATS
// header name; validHeaderValue whether its value can be a header value.
func validHeaderName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == ':' || c == 0x7f {
			return false
		}
	}
	return true
}

func validHeaderValue(b []byte) bool {
	for _, c := range b {
		if c == '\r' || c == '\n' {
			return false
		}
	}
	return true
}

// fromPublish turns an inbound PUBLISH into a broker message on subject.
// It reports mqtt.TopicNameInvalid for a response topic that maps onto no
// subject.
func fromPublish(p *mqtt.Publish, subject []byte, now time.Time) (*message, byte) {
	m := &message{subject: subject, data: p.Payload, qos: p.QoS, retain: p.Retain}
	var h []byte
	field := func(name string, value []byte) {
		if h == nil {
			h = protocol.AppendHeaderStart(make([]byte, 0, 64), 0, "")
		}
		h = append(h, name...)
		h = append(h, ": "...)
		h = append(h, value...)
		h = append(h, "\r\n"...)
	}
	var num [10]byte
	if p.QoS > 0 {
		field(hdrQoS, strconv.AppendUint(num[:0], uint64(p.QoS), 10))
	}
	if p.Retain {
		field(hdrRetain, []byte{'1'})
	}
	for _, pr := range p.Props {
		switch pr.ID {
		case mqtt.PropUserProperty:
			if validHeaderName(pr.Key) && validHeaderValue(pr.Val) {
				field(string(pr.Key), pr.Val)
			}
		case mqtt.PropContentType:
			if validHeaderValue(pr.Val) {
				field(hdrContentType, pr.Val)
			}
		case mqtt.PropPayloadFormat:
			if pr.Num == 1 {
				field(hdrFormat, []byte{'1'})
			}
		case mqtt.PropMessageExpiry:
			field(hdrExpiry, strconv.AppendUint(num[:0], uint64(pr.Num), 10))
			m.expires = now.Unix() + int64(pr.Num)
		case mqtt.PropCorrelationData:
			field(hdrCorrelation, []byte(base64.StdEncoding.EncodeToString(pr.Val)))
		case mqtt.PropResponseTopic:
			r, err := mqtt.TopicToSubject(nil, pr.Val)
			if err != nil {
				return nil, mqtt.TopicNameInvalid
			}
			m.reply = r
		}
	}
	if h != nil {
		m.header = protocol.AppendHeaderEnd(h)
	}
	return m, 0
}

// fromMsg takes a message the broker delivered: its QoS and retain flag and
// expiry come from the header block; NATS-published messages are QoS 0
// unless durable says a stream holds them (then 1).
func fromMsg(bm *protocol.Msg, durable func(subject []byte) bool, now time.Time) message {
	m := message{subject: bm.Subject, reply: bm.Reply, header: bm.Header, data: bm.Data}
	mqttOrigin := false
	if len(bm.Header) > 0 {
		protocol.HeaderFields(bm.Header, func(name, value []byte) bool {
			switch string(name) {
			case hdrQoS:
				mqttOrigin = true
				if len(value) == 1 && value[0] >= '1' && value[0] <= '2' {
					m.qos = value[0] - '0'
				}
			case hdrRetain:
				mqttOrigin = true
				m.retain = string(value) == "1"
			case hdrExpiry:
				if n, err := strconv.ParseUint(string(value), 10, 32); err == nil {
					m.expires = now.Unix() + int64(n)
				}
			}
			return true
		})
	}
	if !mqttOrigin && durable != nil && durable(bm.Subject) {
		m.qos = 1
	}
	return m
}

// toPublish builds the PUBLISH that delivers m at qos for protocol level v;
// props is scratch space for the properties. It reports false for a message
// that has expired or whose subject maps onto no topic.
func (m *message) toPublish(p *mqtt.Publish, qos byte, v byte, topic []byte, props mqtt.Props, now time.Time) bool {
	*p = mqtt.Publish{QoS: qos, Topic: topic, Payload: m.data}
	if m.expires > 0 && now.Unix() >= m.expires {
		return false
	}
	if v != mqtt.V5 {
		return true
	}
	props = props[:0]
	if len(m.reply) > 0 {
		props = props.AddBytes(mqtt.PropResponseTopic, mqtt.SubjectToTopic(nil, m.reply))
	}
	if m.expires > 0 {
		props = props.AddNum(mqtt.PropMessageExpiry, uint32(m.expires-now.Unix()))
	}
	if len(m.header) > 0 {
		protocol.HeaderFields(m.header, func(name, value []byte) bool {
			switch string(name) {
			case hdrQoS, hdrRetain, hdrExpiry:
			case hdrFormat:
				if string(value) == "1" {
					props = props.AddNum(mqtt.PropPayloadFormat, 1)
				}
			case hdrContentType:
				props = props.AddBytes(mqtt.PropContentType, value)
			case hdrCorrelation:
				if d, err := base64.StdEncoding.DecodeString(string(value)); err == nil {
					props = props.AddBytes(mqtt.PropCorrelationData, d)
				}
			default:
				props = props.AddUser(name, value)
			}
			return true
		})
	}
	p.Props = props
	return true
}
