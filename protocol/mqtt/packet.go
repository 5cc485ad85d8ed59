package mqtt

// Packet is a decoded control packet.
type Packet interface {
	// Type is the control packet type (CONNECT, PUBLISH, ...).
	Type() byte
	// Append encodes the packet for protocol level v (V311 or V5).
	Append(dst []byte, v byte) []byte
}

// Connect is a CONNECT packet.
type Connect struct {
	Version      byte // V311 or V5
	CleanStart   bool // Clean Session in 3.1.1
	KeepAlive    uint16
	Props        Props
	ClientID     []byte
	Will         *Will
	UsernameFlag bool
	Username     []byte
	PasswordFlag bool
	Password     []byte
}

// Will is the will message of a CONNECT.
type Will struct {
	QoS     byte
	Retain  bool
	Props   Props
	Topic   []byte
	Payload []byte
}

// Connack is a CONNACK packet; Code is a 3.1.1 return code or an MQTT 5
// reason code, as the protocol level says.
type Connack struct {
	SessionPresent bool
	Code           byte
	Props          Props
}

// Publish is a PUBLISH packet. ID is zero at QoS 0.
type Publish struct {
	Dup     bool
	QoS     byte
	Retain  bool
	Topic   []byte
	ID      uint16
	Props   Props
	Payload []byte
}

// Ack is a PUBACK, PUBREC, PUBREL or PUBCOMP packet.
type Ack struct {
	Kind  byte // PUBACK, PUBREC, PUBREL or PUBCOMP
	ID    uint16
	Code  byte
	Props Props
	// Form is how much of an MQTT 5 ack is present: 2 (packet identifier
	// only), 3 (and the reason code) or 4 (and properties). Zero encodes
	// the shortest form that carries Code and Props.
	Form byte
}

// Subscription is one topic filter of a SUBSCRIBE with its options byte.
type Subscription struct {
	Filter []byte
	Opts   byte
}

// QoS is the maximum QoS the subscriber asked for.
func (s Subscription) QoS() byte { return s.Opts & 3 }

// NoLocal reports the MQTT 5 No Local option.
func (s Subscription) NoLocal() bool { return s.Opts&4 != 0 }

// RetainAsPublished reports the MQTT 5 Retain As Published option.
func (s Subscription) RetainAsPublished() bool { return s.Opts&8 != 0 }

// RetainHandling is the MQTT 5 Retain Handling option: 0 send retained
// messages on subscribe, 1 only for a new subscription, 2 never.
func (s Subscription) RetainHandling() byte { return s.Opts >> 4 & 3 }

// Subscribe is a SUBSCRIBE packet.
type Subscribe struct {
	ID     uint16
	Props  Props
	Topics []Subscription
}

// Suback is a SUBACK packet: one return or reason code per filter.
type Suback struct {
	ID    uint16
	Props Props
	Codes []byte
}

// Unsubscribe is an UNSUBSCRIBE packet.
type Unsubscribe struct {
	ID      uint16
	Props   Props
	Filters [][]byte
}

// Unsuback is an UNSUBACK packet; 3.1.1 carries no codes.
type Unsuback struct {
	ID    uint16
	Props Props
	Codes []byte
}

// Simple is a PINGREQ or PINGRESP packet, or a 3.1.1 DISCONNECT.
type Simple struct{ Kind byte }

// Disconnect is a DISCONNECT packet (MQTT 5 carries a reason and
// properties), or an AUTH packet when Kind is AUTH.
type Disconnect struct {
	Kind  byte // DISCONNECT or AUTH
	Code  byte
	Props Props
	// Form is how much is present: 0 (nothing), 1 (the reason code) or 2
	// (and properties); -1 encodes the shortest form that carries Code and
	// Props.
	Form int8
}

func (*Connect) Type() byte      { return CONNECT }
func (*Connack) Type() byte      { return CONNACK }
func (*Publish) Type() byte      { return PUBLISH }
func (a *Ack) Type() byte        { return a.Kind }
func (*Subscribe) Type() byte    { return SUBSCRIBE }
func (*Suback) Type() byte       { return SUBACK }
func (*Unsubscribe) Type() byte  { return UNSUBSCRIBE }
func (*Unsuback) Type() byte     { return UNSUBACK }
func (s *Simple) Type() byte     { return s.Kind }
func (d *Disconnect) Type() byte { return d.Kind }

// Frame reports the length of the packet at the start of b, or 0 when b
// does not hold all of it yet. A packet longer than max (the whole packet,
// as MQTT 5's Maximum Packet Size counts it) is ErrTooLarge; a malformed
// remaining length is an *Error.
func Frame(b []byte, max int) (int, error) {
	if len(b) < 2 {
		return 0, nil
	}
	var rl int
	for i := 1; i < 5; i++ {
		if i >= len(b) {
			return 0, nil
		}
		c := b[i]
		rl |= int(c&0x7f) << (7 * (i - 1))
		if c&0x80 != 0 {
			continue
		}
		if i > 1 && c == 0 {
			return 0, malformed("remaining length not in its shortest form")
		}
		n := i + 1 + rl
		if n > max {
			return 0, ErrTooLarge
		}
		if len(b) < n {
			return 0, nil
		}
		return n, nil
	}
	return 0, malformed("remaining length longer than 4 bytes")
}

// begin reserves room for a fixed header before a packet's body.
func begin(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0, 0), len(dst)
}

// finish writes the fixed header in front of the body appended since begin.
func finish(dst []byte, start int, first byte) []byte {
	rl := len(dst) - start - 5
	var hb [5]byte
	hb[0] = first
	h := len(appendVarint(hb[:1], uint32(rl)))
	copy(dst[start+h:], dst[start+5:])
	copy(dst[start:], hb[:h])
	return dst[:start+h+rl]
}

func appendID(dst []byte, id uint16) []byte { return append(dst, byte(id>>8), byte(id)) }

func (p *Connect) Append(dst []byte, _ byte) []byte {
	dst, s := begin(dst)
	dst = appendString(dst, "MQTT")
	dst = append(dst, p.Version)
	var fl byte
	if p.UsernameFlag {
		fl |= 0x80
	}
	if p.PasswordFlag {
		fl |= 0x40
	}
	if w := p.Will; w != nil {
		fl |= 0x04 | w.QoS<<3
		if w.Retain {
			fl |= 0x20
		}
	}
	if p.CleanStart {
		fl |= 0x02
	}
	dst = append(dst, fl, byte(p.KeepAlive>>8), byte(p.KeepAlive))
	if p.Version == V5 {
		dst = appendProps(dst, p.Props)
	}
	dst = appendBytes(dst, p.ClientID)
	if w := p.Will; w != nil {
		if p.Version == V5 {
			dst = appendProps(dst, w.Props)
		}
		dst = appendBytes(dst, w.Topic)
		dst = appendBytes(dst, w.Payload)
	}
	if p.UsernameFlag {
		dst = appendBytes(dst, p.Username)
	}
	if p.PasswordFlag {
		dst = appendBytes(dst, p.Password)
	}
	return finish(dst, s, CONNECT<<4)
}

func (p *Connack) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	var sp byte
	if p.SessionPresent {
		sp = 1
	}
	dst = append(dst, sp, p.Code)
	if v == V5 {
		dst = appendProps(dst, p.Props)
	}
	return finish(dst, s, CONNACK<<4)
}

// Header is the fixed header's first byte of p.
func (p *Publish) Header() byte {
	b := PUBLISH<<4 | p.QoS<<1
	if p.Dup {
		b |= 8
	}
	if p.Retain {
		b |= 1
	}
	return b
}

func (p *Publish) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	dst = appendBytes(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendID(dst, p.ID)
	}
	if v == V5 {
		dst = appendProps(dst, p.Props)
	}
	dst = append(dst, p.Payload...)
	return finish(dst, s, p.Header())
}

func (p *Ack) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	dst = appendID(dst, p.ID)
	if v == V5 {
		form := p.Form
		if form == 0 {
			form = 2
			if len(p.Props) > 0 {
				form = 4
			} else if p.Code != 0 {
				form = 3
			}
		}
		if form >= 3 {
			dst = append(dst, p.Code)
		}
		if form >= 4 {
			dst = appendProps(dst, p.Props)
		}
	}
	first := p.Kind << 4
	if p.Kind == PUBREL {
		first |= 2
	}
	return finish(dst, s, first)
}

func (p *Subscribe) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	dst = appendID(dst, p.ID)
	if v == V5 {
		dst = appendProps(dst, p.Props)
	}
	for _, t := range p.Topics {
		dst = appendBytes(dst, t.Filter)
		dst = append(dst, t.Opts)
	}
	return finish(dst, s, SUBSCRIBE<<4|2)
}

func (p *Suback) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	dst = appendID(dst, p.ID)
	if v == V5 {
		dst = appendProps(dst, p.Props)
	}
	dst = append(dst, p.Codes...)
	return finish(dst, s, SUBACK<<4)
}

func (p *Unsubscribe) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	dst = appendID(dst, p.ID)
	if v == V5 {
		dst = appendProps(dst, p.Props)
	}
	for _, f := range p.Filters {
		dst = appendBytes(dst, f)
	}
	return finish(dst, s, UNSUBSCRIBE<<4|2)
}

func (p *Unsuback) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	dst = appendID(dst, p.ID)
	if v == V5 {
		dst = appendProps(dst, p.Props)
		dst = append(dst, p.Codes...)
	}
	return finish(dst, s, UNSUBACK<<4)
}

func (p *Simple) Append(dst []byte, _ byte) []byte { return append(dst, p.Kind<<4, 0) }

func (p *Disconnect) Append(dst []byte, v byte) []byte {
	dst, s := begin(dst)
	if v == V5 {
		form := p.Form
		if form < 0 {
			form = 0
			if len(p.Props) > 0 {
				form = 2
			} else if p.Code != 0 {
				form = 1
			}
		}
		if form >= 1 {
			dst = append(dst, p.Code)
		}
		if form >= 2 {
			dst = appendProps(dst, p.Props)
		}
	}
	return finish(dst, s, p.Kind<<4)
}
