package mqtt

import "unicode/utf8"

// MQTT 5 property identifiers (section 2.2.2.2).
const (
	PropPayloadFormat      byte = 0x01
	PropMessageExpiry      byte = 0x02
	PropContentType        byte = 0x03
	PropResponseTopic      byte = 0x08
	PropCorrelationData    byte = 0x09
	PropSubscriptionID     byte = 0x0B
	PropSessionExpiry      byte = 0x11
	PropAssignedClientID   byte = 0x12
	PropServerKeepAlive    byte = 0x13
	PropAuthMethod         byte = 0x15
	PropAuthData           byte = 0x16
	PropRequestProblemInfo byte = 0x17
	PropWillDelay          byte = 0x18
	PropRequestRespInfo    byte = 0x19
	PropResponseInfo       byte = 0x1A
	PropServerReference    byte = 0x1C
	PropReasonString       byte = 0x1F
	PropReceiveMaximum     byte = 0x21
	PropTopicAliasMaximum  byte = 0x22
	PropTopicAlias         byte = 0x23
	PropMaximumQoS         byte = 0x24
	PropRetainAvailable    byte = 0x25
	PropUserProperty       byte = 0x26
	PropMaximumPacketSize  byte = 0x27
	PropWildcardAvailable  byte = 0x28
	PropSubIDAvailable     byte = 0x29
	PropSharedAvailable    byte = 0x2A
)

// Property value types.
const (
	tByte = iota + 1
	tTwo
	tFour
	tVarint
	tString
	tBinary
	tPair
)

// willProps stands for the will properties inside CONNECT in propInfo's
// packet masks (bit 0 is otherwise unused: there is no packet type 0).
const willProps = 0

type propSpec struct {
	typ     byte
	packets uint16 // bit per packet type that may carry it
}

// propInfo says what type each property has and which packets may carry
// it. It is built from constants only, so it is static data in the binary:
// nothing runs at start-up for a listener that is off.
var propInfo = [0x2B]propSpec{
	PropPayloadFormat:      {tByte, 1<<PUBLISH | 1<<willProps},
	PropMessageExpiry:      {tFour, 1<<PUBLISH | 1<<willProps},
	PropContentType:        {tString, 1<<PUBLISH | 1<<willProps},
	PropResponseTopic:      {tString, 1<<PUBLISH | 1<<willProps},
	PropCorrelationData:    {tBinary, 1<<PUBLISH | 1<<willProps},
	PropSubscriptionID:     {tVarint, 1<<PUBLISH | 1<<SUBSCRIBE},
	PropSessionExpiry:      {tFour, 1<<CONNECT | 1<<CONNACK | 1<<DISCONNECT},
	PropAssignedClientID:   {tString, 1 << CONNACK},
	PropServerKeepAlive:    {tTwo, 1 << CONNACK},
	PropAuthMethod:         {tString, 1<<CONNECT | 1<<CONNACK | 1<<AUTH},
	PropAuthData:           {tBinary, 1<<CONNECT | 1<<CONNACK | 1<<AUTH},
	PropRequestProblemInfo: {tByte, 1 << CONNECT},
	PropWillDelay:          {tFour, 1 << willProps},
	PropRequestRespInfo:    {tByte, 1 << CONNECT},
	PropResponseInfo:       {tString, 1 << CONNACK},
	PropServerReference:    {tString, 1<<CONNACK | 1<<DISCONNECT},
	PropReasonString:       {tString, 1<<CONNACK | 1<<PUBACK | 1<<PUBREC | 1<<PUBREL | 1<<PUBCOMP | 1<<SUBACK | 1<<UNSUBACK | 1<<DISCONNECT | 1<<AUTH},
	PropReceiveMaximum:     {tTwo, 1<<CONNECT | 1<<CONNACK},
	PropTopicAliasMaximum:  {tTwo, 1<<CONNECT | 1<<CONNACK},
	PropTopicAlias:         {tTwo, 1 << PUBLISH},
	PropMaximumQoS:         {tByte, 1 << CONNACK},
	PropRetainAvailable:    {tByte, 1 << CONNACK},
	PropUserProperty:       {tPair, 0xFFFF},
	PropMaximumPacketSize:  {tFour, 1<<CONNECT | 1<<CONNACK},
	PropWildcardAvailable:  {tByte, 1 << CONNACK},
	PropSubIDAvailable:     {tByte, 1 << CONNACK},
	PropSharedAvailable:    {tByte, 1 << CONNACK},
}

// Prop is one property. Numeric properties use Num; strings and binary
// data use Val; a user property has its name in Key and its value in Val.
type Prop struct {
	ID  byte
	Num uint32
	Key []byte
	Val []byte
}

// Props is a packet's property list in wire order.
type Props []Prop

// Get returns the first property with id.
func (ps Props) Get(id byte) (Prop, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return Prop{}, false
}

// Num returns a numeric property's value, or def when it is absent.
func (ps Props) Num(id byte, def uint32) uint32 {
	if p, ok := ps.Get(id); ok {
		return p.Num
	}
	return def
}

// Bytes returns a string or binary property's value, or nil.
func (ps Props) Bytes(id byte) []byte {
	p, _ := ps.Get(id)
	return p.Val
}

// Has reports whether a property with id is present.
func (ps Props) Has(id byte) bool {
	_, ok := ps.Get(id)
	return ok
}

// AddNum appends a numeric property.
func (ps Props) AddNum(id byte, v uint32) Props { return append(ps, Prop{ID: id, Num: v}) }

// AddBytes appends a string or binary property.
func (ps Props) AddBytes(id byte, v []byte) Props { return append(ps, Prop{ID: id, Val: v}) }

// AddUser appends a user property.
func (ps Props) AddUser(k, v []byte) Props {
	return append(ps, Prop{ID: PropUserProperty, Key: k, Val: v})
}

// decodeProps reads a property length and the properties after it, for a
// packet of type typ (willProps for a will). It returns the rest of b.
func decodeProps(b []byte, typ byte, dst Props) (Props, []byte, error) {
	n, b, err := readVarint(b)
	if err != nil {
		return nil, nil, err
	}
	if uint32(len(b)) < n {
		return nil, nil, malformed("property length exceeds the packet")
	}
	pb, rest := b[:n], b[n:]
	var seen uint64
	for len(pb) > 0 {
		id := pb[0]
		pb = pb[1:]
		if int(id) >= len(propInfo) || propInfo[id].typ == 0 {
			return nil, nil, malformed("unknown property")
		}
		spec := propInfo[id]
		if spec.packets&(1<<typ) == 0 {
			return nil, nil, protoErr("property not allowed in this packet")
		}
		if id != PropUserProperty && !(id == PropSubscriptionID && typ == PUBLISH) {
			if seen&(1<<id) != 0 {
				return nil, nil, protoErr("property included more than once")
			}
			seen |= 1 << id
		}
		p := Prop{ID: id}
		switch spec.typ {
		case tByte:
			if len(pb) < 1 {
				return nil, nil, malformed("short property")
			}
			p.Num, pb = uint32(pb[0]), pb[1:]
			if p.Num > 1 { // every byte property is 0 or 1
				return nil, nil, protoErr("property value out of range")
			}
		case tTwo:
			if len(pb) < 2 {
				return nil, nil, malformed("short property")
			}
			p.Num, pb = uint32(pb[0])<<8|uint32(pb[1]), pb[2:]
			if p.Num == 0 && id == PropReceiveMaximum {
				return nil, nil, protoErr("receive maximum of 0")
			}
		case tFour:
			if len(pb) < 4 {
				return nil, nil, malformed("short property")
			}
			p.Num, pb = uint32(pb[0])<<24|uint32(pb[1])<<16|uint32(pb[2])<<8|uint32(pb[3]), pb[4:]
			if p.Num == 0 && id == PropMaximumPacketSize {
				return nil, nil, protoErr("maximum packet size of 0")
			}
		case tVarint:
			if p.Num, pb, err = readVarint(pb); err != nil {
				return nil, nil, err
			}
			if p.Num == 0 {
				return nil, nil, protoErr("subscription identifier of 0")
			}
		case tString, tBinary:
			if p.Val, pb, err = readBytes(pb, spec.typ == tString); err != nil {
				return nil, nil, err
			}
		case tPair:
			if p.Key, pb, err = readBytes(pb, true); err != nil {
				return nil, nil, err
			}
			if p.Val, pb, err = readBytes(pb, true); err != nil {
				return nil, nil, err
			}
		}
		dst = append(dst, p)
	}
	return dst, rest, nil
}

// propsLen is the encoded size of ps, without its length prefix.
func propsLen(ps Props) int {
	n := 0
	for _, p := range ps {
		n++
		switch propInfo[p.ID].typ {
		case tByte:
			n++
		case tTwo:
			n += 2
		case tFour:
			n += 4
		case tVarint:
			n += varintLen(p.Num)
		case tString, tBinary:
			n += 2 + len(p.Val)
		case tPair:
			n += 4 + len(p.Key) + len(p.Val)
		}
	}
	return n
}

// appendProps appends ps with its length prefix.
func appendProps(dst []byte, ps Props) []byte {
	dst = appendVarint(dst, uint32(propsLen(ps)))
	for _, p := range ps {
		dst = append(dst, p.ID)
		switch propInfo[p.ID].typ {
		case tByte:
			dst = append(dst, byte(p.Num))
		case tTwo:
			dst = append(dst, byte(p.Num>>8), byte(p.Num))
		case tFour:
			dst = append(dst, byte(p.Num>>24), byte(p.Num>>16), byte(p.Num>>8), byte(p.Num))
		case tVarint:
			dst = appendVarint(dst, p.Num)
		case tString, tBinary:
			dst = appendBytes(dst, p.Val)
		case tPair:
			dst = appendBytes(dst, p.Key)
			dst = appendBytes(dst, p.Val)
		}
	}
	return dst
}

// readVarint reads a Variable Byte Integer, which must use the fewest bytes
// [MQTT-1.5.5-1].
func readVarint(b []byte) (uint32, []byte, error) {
	var v uint32
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, nil, malformed("truncated variable byte integer")
		}
		c := b[i]
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i > 0 && c == 0 {
				return 0, nil, malformed("variable byte integer not in its shortest form")
			}
			return v, b[i+1:], nil
		}
	}
	return 0, nil, malformed("variable byte integer longer than 4 bytes")
}

func varintLen(v uint32) int {
	switch {
	case v < 128:
		return 1
	case v < 16384:
		return 2
	case v < 2097152:
		return 3
	}
	return 4
}

func appendVarint(dst []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v > 0 {
			dst = append(dst, c|0x80)
			continue
		}
		return append(dst, c)
	}
}

// readBytes reads a two-byte length and that many bytes; a string must be
// well-formed UTF-8 without U+0000 [MQTT-1.5.4-1, MQTT-1.5.4-2].
func readBytes(b []byte, str bool) ([]byte, []byte, error) {
	if len(b) < 2 {
		return nil, nil, malformed("truncated length")
	}
	n := int(b[0])<<8 | int(b[1])
	if len(b)-2 < n {
		return nil, nil, malformed("length exceeds the packet")
	}
	v := b[2 : 2+n : 2+n]
	if str && !validString(v) {
		return nil, nil, malformed("string is not valid UTF-8")
	}
	return v, b[2+n:], nil
}

func validString(v []byte) bool {
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			return false
		}
	}
	return utf8.Valid(v)
}

func appendBytes(dst, v []byte) []byte {
	dst = append(dst, byte(len(v)>>8), byte(len(v)))
	return append(dst, v...)
}

func appendString(dst []byte, s string) []byte {
	dst = append(dst, byte(len(s)>>8), byte(len(s)))
	return append(dst, s...)
}
