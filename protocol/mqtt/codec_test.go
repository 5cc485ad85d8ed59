package mqtt

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// golden are packets written out byte by byte from the specifications'
// layouts, each with the protocol level it is decoded at.
var golden = []struct {
	name string
	v    byte
	raw  []byte
}{
	{"connect 3.1.1 clean, keepalive 60, id", V311, []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 4, 'd', 'e', 'v', '1'}},
	{"connect 3.1.1 user pass will", V311, []byte{0x10, 0x1b, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xEE, 0, 10, 0, 1, 'c', 0, 1, 'w', 0, 2, 'b', 'y', 0, 1, 'u', 0, 2, 'p', 'w'}},
	{"connect 5 session expiry, user property", V5, []byte{0x10, 0x19, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x00, 0, 30, 12, 0x11, 0, 0, 0, 60, 0x26, 0, 1, 'k', 0, 1, 'v', 0, 0}},
	{"connack 3.1.1 session present", V311, []byte{0x20, 2, 1, 0}},
	{"connack 5 with receive maximum", V5, []byte{0x20, 6, 0, 0, 3, 0x21, 0, 10}},
	{"publish qos0", V311, []byte{0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'}},
	{"publish qos1 retain dup", V311, []byte{0x3B, 7, 0, 1, 't', 0, 7, 'x', 'y'}},
	{"publish 5 qos2 alias and response topic", V5, []byte{0x34, 15, 0, 1, 't', 0, 9, 7, 0x23, 0, 1, 0x08, 0, 1, 'r', 'o', 'k'}},
	{"publish 5 empty topic with alias", V5, []byte{0x30, 6, 0, 0, 3, 0x23, 0, 1}},
	{"puback 3.1.1", V311, []byte{0x40, 2, 0, 9}},
	{"puback 5 short", V5, []byte{0x40, 2, 0, 9}},
	{"puback 5 reason", V5, []byte{0x40, 3, 0, 9, 0x10}},
	{"puback 5 reason empty props", V5, []byte{0x40, 4, 0, 9, 0, 0}},
	{"pubrel", V311, []byte{0x62, 2, 0, 9}},
	{"pubrec 5 reason string", V5, []byte{0x50, 8, 0, 9, 0x80, 4, 0x1F, 0, 1, '!'}},
	{"subscribe 3.1.1 two filters", V311, []byte{0x82, 12, 0, 5, 0, 3, 'a', '/', '+', 1, 0, 1, '#', 2}},
	{"subscribe 5 options and id", V5, []byte{0x82, 10, 0, 5, 2, 0x0B, 7, 0, 2, 'a', 'b', 0x2D}},
	{"suback", V311, []byte{0x90, 4, 0, 5, 1, 0x80}},
	{"suback 5", V5, []byte{0x90, 4, 0, 5, 0, 2}},
	{"unsubscribe", V311, []byte{0xA2, 5, 0, 5, 0, 1, 'a'}},
	{"unsuback 3.1.1", V311, []byte{0xB0, 2, 0, 5}},
	{"unsuback 5", V5, []byte{0xB0, 4, 0, 5, 0, 0x11}},
	{"pingreq", V311, []byte{0xC0, 0}},
	{"pingresp", V5, []byte{0xD0, 0}},
	{"disconnect 3.1.1", V311, []byte{0xE0, 0}},
	{"disconnect 5 with will", V5, []byte{0xE0, 1, 0x04}},
	{"disconnect 5 session expiry", V5, []byte{0xE0, 7, 0, 5, 0x11, 0, 0, 0, 0}},
	{"auth 5 empty", V5, []byte{0xF0, 0}},
}

func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			n, err := Frame(g.raw, 1<<20)
			if err != nil || n != len(g.raw) {
				t.Fatalf("Frame = %d, %v; want %d", n, err, len(g.raw))
			}
			for cut := 0; cut < len(g.raw); cut++ {
				if n, err := Frame(g.raw[:cut], 1<<20); n != 0 || err != nil {
					t.Fatalf("Frame of %d bytes = %d, %v; want 0, nil", cut, n, err)
				}
			}
			p, err := Decode(g.raw, g.v)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := p.Append(nil, g.v); !bytes.Equal(got, g.raw) {
				t.Fatalf("Append = % x; want % x", got, g.raw)
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	p, err := Decode(golden[1].raw, V311)
	if err != nil {
		t.Fatal(err)
	}
	c := p.(*Connect)
	if string(c.ClientID) != "c" || c.Will == nil || c.Will.QoS != 1 || !c.Will.Retain || string(c.Will.Topic) != "w" ||
		string(c.Will.Payload) != "by" || string(c.Username) != "u" || string(c.Password) != "pw" || !c.CleanStart || c.KeepAlive != 10 {
		t.Fatalf("decoded %+v will %+v", c, c.Will)
	}
	p, _ = Decode(golden[2].raw, V5)
	c = p.(*Connect)
	if c.Props.Num(PropSessionExpiry, 0) != 60 || len(c.Props) != 2 || string(c.Props[1].Key) != "k" || string(c.Props[1].Val) != "v" {
		t.Fatalf("props %+v", c.Props)
	}
	p, _ = Decode(golden[16].raw, V5)
	s := p.(*Subscribe)
	if s.Props.Num(PropSubscriptionID, 0) != 7 || len(s.Topics) != 1 {
		t.Fatalf("subscribe %+v", s)
	}
	o := s.Topics[0]
	if o.QoS() != 1 || !o.NoLocal() || !o.RetainAsPublished() || o.RetainHandling() != 2 {
		t.Fatalf("options %08b: qos %d nl %v rap %v rh %d", o.Opts, o.QoS(), o.NoLocal(), o.RetainAsPublished(), o.RetainHandling())
	}
}

func TestEncodeShortestForms(t *testing.T) {
	tests := []struct {
		p    Packet
		v    byte
		want []byte
	}{
		{&Ack{Kind: PUBACK, ID: 1}, V5, []byte{0x40, 2, 0, 1}},
		{&Ack{Kind: PUBREC, ID: 1, Code: 0x10}, V5, []byte{0x50, 3, 0, 1, 0x10}},
		{&Ack{Kind: PUBREL, ID: 1, Code: 0x92}, V311, []byte{0x62, 2, 0, 1}},
		{&Disconnect{Kind: DISCONNECT, Form: -1}, V5, []byte{0xE0, 0}},
		{&Disconnect{Kind: DISCONNECT, Code: 0x8E, Form: -1}, V5, []byte{0xE0, 1, 0x8E}},
		{&Connack{Code: 0x86}, V5, []byte{0x20, 3, 0, 0x86, 0}},
		{&Publish{Topic: []byte("t"), Payload: make([]byte, 200)}, V311, append([]byte{0x30, 0xCB, 1, 0, 1, 't'}, make([]byte, 200)...)},
	}
	for _, tt := range tests {
		if got := tt.p.Append(nil, tt.v); !bytes.Equal(got, tt.want) {
			t.Errorf("%T.Append = % x; want % x", tt.p, got, tt.want)
		}
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		v    byte
		raw  []byte
		code byte
	}{
		{"reserved connect flag", V311, []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 0, 0, 0}, MalformedPacket},
		{"will qos without will", V311, []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x08, 0, 0, 0, 0}, MalformedPacket},
		{"password without user 3.1.1", V311, []byte{0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x40, 0, 0, 0, 0, 0, 1, 'p'}, MalformedPacket},
		{"protocol level 3", V311, []byte{0x10, 14, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0, 0, 0, 0, 0}, UnsupportedProtocolVersion},
		{"trailing bytes after connect", V311, []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 0, 0, 0, 9}, MalformedPacket},
		{"client id not utf-8", V311, []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 0, 0, 1, 0xff}, MalformedPacket},
		{"client id with NUL", V311, []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 0, 0, 1, 0}, MalformedPacket},
		{"publish qos 3", V311, []byte{0x36, 5, 0, 1, 't', 0, 1}, MalformedPacket},
		{"publish qos1 id 0", V311, []byte{0x32, 5, 0, 1, 't', 0, 0}, MalformedPacket},
		{"publish topic past end", V311, []byte{0x30, 3, 0, 9, 't'}, MalformedPacket},
		{"publish empty topic 3.1.1", V311, []byte{0x30, 2, 0, 0}, ProtocolError},
		{"pubrel flags 0", V311, []byte{0x60, 2, 0, 1}, MalformedPacket},
		{"subscribe flags 0", V311, []byte{0x80, 6, 0, 1, 0, 1, 'a', 0}, MalformedPacket},
		{"subscribe no filters", V311, []byte{0x82, 2, 0, 1}, ProtocolError},
		{"subscribe reserved option 3.1.1", V311, []byte{0x82, 6, 0, 1, 0, 1, 'a', 0x04}, MalformedPacket},
		{"subscribe retain handling 3", V5, []byte{0x82, 7, 0, 1, 0, 0, 1, 'a', 0x30}, MalformedPacket},
		{"unknown property", V5, []byte{0x40, 6, 0, 1, 0, 2, 0x7f, 0}, MalformedPacket},
		{"property not allowed", V5, []byte{0x40, 6, 0, 1, 0, 2, 0x23, 0}, ProtocolError},
		{"duplicate property", V5, []byte{0x30, 11, 0, 1, 't', 6, 0x23, 0, 1, 0x23, 0, 2, 'x'}, ProtocolError},
		{"subscription id 0", V5, []byte{0x82, 9, 0, 1, 2, 0x0B, 0, 0, 1, 'a', 0}, ProtocolError},
		{"payload format 2", V5, []byte{0x30, 6, 0, 1, 't', 2, 0x01, 2}, ProtocolError},
		{"property length past end", V5, []byte{0x30, 5, 0, 1, 't', 9, 0x01}, MalformedPacket},
		{"non-minimal property length", V5, []byte{0x30, 5, 0, 1, 't', 0x80, 0}, MalformedPacket},
		{"auth in 3.1.1", V311, []byte{0xF0, 0}, MalformedPacket},
		{"type 0", V5, []byte{0x00, 0}, MalformedPacket},
		{"pingreq with body", V311, []byte{0xC0, 1, 0}, MalformedPacket},
		{"puback with trailing bytes 3.1.1", V311, []byte{0x40, 3, 0, 1, 0}, MalformedPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Frame(tt.raw, 1<<20)
			if err != nil || n != len(tt.raw) {
				t.Fatalf("Frame = %d, %v; want %d", n, err, len(tt.raw))
			}
			_, err = Decode(tt.raw, tt.v)
			var me *Error
			if !errors.As(err, &me) || me.Code != tt.code {
				t.Fatalf("Decode error = %v; want reason 0x%x", err, tt.code)
			}
		})
	}
}

func TestFrameLimits(t *testing.T) {
	if _, err := Frame([]byte{0x30, 0x80, 0x00}, 100); err == nil {
		t.Error("non-minimal remaining length accepted")
	}
	if _, err := Frame([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, 1<<30); err == nil {
		t.Error("5-byte remaining length accepted")
	}
	if _, err := Frame([]byte{0x30, 0xff, 0x7f}, 1000); err != ErrTooLarge {
		t.Errorf("16 KiB packet with limit 1000: %v; want ErrTooLarge", err)
	}
	if n, err := Frame([]byte{0x30, 0x03, 0, 1}, 5); n != 0 || err != nil {
		t.Errorf("5-byte packet at limit 5, partial: %d, %v", n, err)
	}
	if _, err := Frame([]byte{0x30, 0x04}, 5); err != ErrTooLarge {
		t.Errorf("6-byte packet at limit 5: %v; want ErrTooLarge", err)
	}
}

func TestPropsAccessors(t *testing.T) {
	var ps Props
	ps = ps.AddNum(PropMessageExpiry, 30).AddBytes(PropResponseTopic, []byte("r")).AddUser([]byte("a"), []byte("b"))
	raw := (&Publish{Topic: []byte("t"), Props: ps}).Append(nil, V5)
	p, err := Decode(raw, V5)
	if err != nil {
		t.Fatal(err)
	}
	got := p.(*Publish).Props
	if !reflect.DeepEqual(got, ps) {
		t.Fatalf("props %+v; want %+v", got, ps)
	}
	if got.Num(PropMessageExpiry, 0) != 30 || string(got.Bytes(PropResponseTopic)) != "r" || got.Has(PropTopicAlias) {
		t.Fatalf("accessors wrong on %+v", got)
	}
}
