package mqtt

// Decode decodes one whole packet (as Frame measured it) for protocol level
// v; a CONNECT carries its own level and may be decoded with any v.
func Decode(b []byte, v byte) (Packet, error) {
	if len(b) < 2 {
		return nil, malformed("truncated packet")
	}
	first := b[0]
	typ, flags := first>>4, first&0x0f
	_, body, err := readVarint(b[1:])
	if err != nil {
		return nil, err
	}
	if typ != PUBLISH {
		want := byte(0)
		if typ == PUBREL || typ == SUBSCRIBE || typ == UNSUBSCRIBE {
			want = 2
		}
		if flags != want {
			return nil, malformed("reserved fixed header flags set")
		}
	}
	if typ == AUTH && v != V5 || typ == 0 {
		return nil, malformed("reserved packet type")
	}
	switch typ {
	case CONNECT:
		return decodeConnect(body)
	case CONNACK:
		return decodeConnack(body, v)
	case PUBLISH:
		return decodePublish(first, body, v)
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		return decodeAck(typ, body, v)
	case SUBSCRIBE:
		return decodeSubscribe(body, v)
	case SUBACK:
		p := &Suback{}
		return p, decodeIDProps(body, v, SUBACK, &p.ID, &p.Props, func(rest []byte) error {
			p.Codes = rest
			return nil
		})
	case UNSUBSCRIBE:
		return decodeUnsubscribe(body, v)
	case UNSUBACK:
		p := &Unsuback{}
		return p, decodeIDProps(body, v, UNSUBACK, &p.ID, &p.Props, func(rest []byte) error {
			if v != V5 {
				if len(rest) != 0 {
					return malformed("trailing bytes")
				}
				return nil
			}
			p.Codes = rest
			return nil
		})
	case PINGREQ, PINGRESP:
		if len(body) != 0 {
			return nil, malformed("trailing bytes")
		}
		return &Simple{Kind: typ}, nil
	default: // DISCONNECT, AUTH
		if v != V5 {
			if len(body) != 0 {
				return nil, malformed("trailing bytes")
			}
			return &Simple{Kind: typ}, nil
		}
		p := &Disconnect{Kind: typ}
		if len(body) == 0 {
			return p, nil
		}
		p.Code, p.Form = body[0], 1
		if len(body) == 1 {
			return p, nil
		}
		p.Form = 2
		var rest []byte
		if p.Props, rest, err = decodeProps(body[1:], typ, nil); err != nil {
			return nil, err
		}
		if len(rest) != 0 {
			return nil, malformed("trailing bytes")
		}
		return p, nil
	}
}

func readID(b []byte) (uint16, []byte, error) {
	if len(b) < 2 {
		return 0, nil, malformed("truncated packet identifier")
	}
	id := uint16(b[0])<<8 | uint16(b[1])
	if id == 0 {
		return 0, nil, malformed("packet identifier of 0")
	}
	return id, b[2:], nil
}

// decodeIDProps reads a packet identifier and (in MQTT 5) properties, and
// hands the rest of the packet to tail.
func decodeIDProps(b []byte, v, typ byte, id *uint16, props *Props, tail func([]byte) error) error {
	var err error
	if *id, b, err = readID(b); err != nil {
		return err
	}
	if v == V5 {
		if *props, b, err = decodeProps(b, typ, nil); err != nil {
			return err
		}
	}
	return tail(b)
}

func decodeConnect(b []byte) (Packet, error) {
	name, b, err := readBytes(b, true)
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, malformed("truncated CONNECT")
	}
	p := &Connect{Version: b[0]}
	if string(name) != "MQTT" || (p.Version != V311 && p.Version != V5) {
		return nil, &Error{Code: UnsupportedProtocolVersion, Msg: "unsupported protocol name or level"}
	}
	fl := b[1]
	p.KeepAlive = uint16(b[2])<<8 | uint16(b[3])
	b = b[4:]
	if fl&1 != 0 {
		return nil, malformed("reserved CONNECT flag set") // [MQTT-3.1.2-3]
	}
	p.CleanStart = fl&0x02 != 0
	p.UsernameFlag, p.PasswordFlag = fl&0x80 != 0, fl&0x40 != 0
	wq, wr := fl>>3&3, fl&0x20 != 0
	if fl&0x04 == 0 {
		if wq != 0 || wr {
			return nil, malformed("will QoS or retain without a will") // [MQTT-3.1.2-11]
		}
	} else if wq == 3 {
		return nil, malformed("will QoS 3")
	}
	if p.Version == V311 && p.PasswordFlag && !p.UsernameFlag {
		return nil, malformed("password without user name") // [MQTT-3.1.2-22]
	}
	if p.Version == V5 {
		if p.Props, b, err = decodeProps(b, CONNECT, nil); err != nil {
			return nil, err
		}
	}
	if p.ClientID, b, err = readBytes(b, true); err != nil {
		return nil, err
	}
	if fl&0x04 != 0 {
		w := &Will{QoS: wq, Retain: wr}
		if p.Version == V5 {
			if w.Props, b, err = decodeProps(b, willProps, nil); err != nil {
				return nil, err
			}
		}
		if w.Topic, b, err = readBytes(b, true); err != nil {
			return nil, err
		}
		if w.Payload, b, err = readBytes(b, false); err != nil {
			return nil, err
		}
		p.Will = w
	}
	if p.UsernameFlag {
		if p.Username, b, err = readBytes(b, true); err != nil {
			return nil, err
		}
	}
	if p.PasswordFlag {
		if p.Password, b, err = readBytes(b, false); err != nil {
			return nil, err
		}
	}
	if len(b) != 0 {
		return nil, malformed("trailing bytes after CONNECT")
	}
	return p, nil
}

func decodeConnack(b []byte, v byte) (Packet, error) {
	if len(b) < 2 {
		return nil, malformed("truncated CONNACK")
	}
	if b[0]&^1 != 0 {
		return nil, malformed("reserved CONNACK flags set")
	}
	p := &Connack{SessionPresent: b[0] == 1, Code: b[1]}
	b = b[2:]
	if v == V5 {
		var err error
		if p.Props, b, err = decodeProps(b, CONNACK, nil); err != nil {
			return nil, err
		}
	}
	if len(b) != 0 {
		return nil, malformed("trailing bytes after CONNACK")
	}
	return p, nil
}

func decodePublish(first byte, b []byte, v byte) (Packet, error) {
	p := &Publish{Dup: first&8 != 0, QoS: first >> 1 & 3, Retain: first&1 != 0}
	if p.QoS == 3 {
		return nil, malformed("PUBLISH with QoS 3") // [MQTT-3.3.1-4]
	}
	var err error
	if p.Topic, b, err = readBytes(b, true); err != nil {
		return nil, err
	}
	if len(p.Topic) == 0 && v != V5 {
		return nil, protoErr("empty topic name")
	}
	if p.QoS > 0 {
		if p.ID, b, err = readID(b); err != nil {
			return nil, err
		}
	}
	if v == V5 {
		if p.Props, b, err = decodeProps(b, PUBLISH, nil); err != nil {
			return nil, err
		}
	}
	p.Payload = b
	return p, nil
}

func decodeAck(typ byte, b []byte, v byte) (Packet, error) {
	p := &Ack{Kind: typ}
	var err error
	if p.ID, b, err = readID(b); err != nil {
		return nil, err
	}
	if v != V5 {
		if len(b) != 0 {
			return nil, malformed("trailing bytes after acknowledgement")
		}
		return p, nil
	}
	p.Form = 2
	if len(b) == 0 {
		return p, nil
	}
	p.Code, p.Form = b[0], 3
	if len(b) == 1 {
		return p, nil
	}
	p.Form = 4
	if p.Props, b, err = decodeProps(b[1:], typ, nil); err != nil {
		return nil, err
	}
	if len(b) != 0 {
		return nil, malformed("trailing bytes after acknowledgement")
	}
	return p, nil
}

func decodeSubscribe(b []byte, v byte) (Packet, error) {
	p := &Subscribe{}
	err := decodeIDProps(b, v, SUBSCRIBE, &p.ID, &p.Props, func(b []byte) error {
		if len(b) == 0 {
			return protoErr("SUBSCRIBE without a topic filter") // [MQTT-3.8.3-3]
		}
		p.Topics = make([]Subscription, 0, min(len(b)/3, 64))
		for len(b) > 0 {
			f, rest, err := readBytes(b, true)
			if err != nil {
				return err
			}
			if len(rest) < 1 {
				return malformed("missing subscription options")
			}
			o := rest[0]
			if o&3 == 3 {
				return malformed("subscription QoS 3")
			}
			if v == V5 && (o&0xC0 != 0 || o>>4&3 == 3) || v != V5 && o&0xFC != 0 {
				return malformed("reserved subscription option bits set") // [MQTT-3.8.3-5]
			}
			p.Topics = append(p.Topics, Subscription{Filter: f, Opts: o})
			b = rest[1:]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func decodeUnsubscribe(b []byte, v byte) (Packet, error) {
	p := &Unsubscribe{}
	err := decodeIDProps(b, v, UNSUBSCRIBE, &p.ID, &p.Props, func(b []byte) error {
		if len(b) == 0 {
			return protoErr("UNSUBSCRIBE without a topic filter") // [MQTT-3.10.3-2]
		}
		for len(b) > 0 {
			f, rest, err := readBytes(b, true)
			if err != nil {
				return err
			}
			p.Filters = append(p.Filters, f)
			b = rest
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
