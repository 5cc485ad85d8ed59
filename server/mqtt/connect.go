package mqtt

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"math"
	"time"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/protocol/mqtt"
	"github.com/wrenmq/wren/server"
)

// neverExpires is a session expiry of 0xFFFFFFFF seconds: the session never
// ends by itself.
const neverExpires = math.MaxUint32

// will is a connection's will message.
type will struct {
	m     *message
	delay time.Duration
}

// capExpiry applies MaxSessionExpiry to the expiry a client asks for.
func (l *Listener) capExpiry(secs uint32) uint32 {
	if max := l.opts.MaxSessionExpiry; max > 0 && (secs == neverExpires || time.Duration(secs)*time.Second > max) {
		return uint32(max / time.Second)
	}
	return secs
}

// connect handles the first packet, which must be a CONNECT [MQTT-3.1.0-1].
func (c *conn) connect(pkt []byte) error {
	p, err := mqtt.Decode(pkt, mqtt.V5)
	if err != nil {
		var me *mqtt.Error
		if errors.As(err, &me) && me.Code == mqtt.UnsupportedProtocolVersion {
			// [MQTT-3.1.2-2]: answer in the 3.1.1 format every level reads.
			c.v = mqtt.V311
			c.send(&mqtt.Connack{Code: mqtt.ConnackRefusedVersion311})
			c.closeAfterFlush()
			return errClose
		}
		if len(pkt) > 8 && pkt[8] == mqtt.V5 {
			c.v = mqtt.V5
			c.refuse(me.Code)
		}
		c.debug("mqtt malformed CONNECT", "error", err)
		return errClose
	}
	cp, ok := p.(*mqtt.Connect)
	if !ok {
		return errClose
	}
	c.v = cp.Version
	if cp.Props.Has(mqtt.PropAuthMethod) {
		c.refuse(0x8C) // Bad authentication method: no enhanced authentication
		return errClose
	}
	id := string(cp.ClientID)
	assigned := false
	if id == "" {
		if c.v == mqtt.V311 && !cp.CleanStart {
			c.refuse(mqtt.ClientIDNotValid) // [MQTT-3.1.3-8]
			return errClose
		}
		id, assigned = newClientID(), true
	}
	c.cid = id

	var expiry uint32
	if c.v == mqtt.V5 {
		expiry = c.l.capExpiry(cp.Props.Num(mqtt.PropSessionExpiry, 0))
		if rm := cp.Props.Num(mqtt.PropReceiveMaximum, 65535); int(rm) < c.l.opts.MaxInflight {
			c.window = int(rm)
		}
		c.maxOut = int(cp.Props.Num(mqtt.PropMaximumPacketSize, 0))
		if n := min(int(cp.Props.Num(mqtt.PropTopicAliasMaximum, 0)), c.l.opts.TopicAliasMaximum); n > 0 {
			c.aliasOut = &outAliases{max: n}
		}
	} else if !cp.CleanStart {
		expiry = c.l.capExpiry(neverExpires)
	}
	if c.window == 0 {
		c.window = c.l.opts.MaxInflight
	}
	c.keepAlive = time.Duration(cp.KeepAlive) * time.Second

	creds := auth.ConnectCreds{User: string(cp.Username), Pass: string(cp.Password), Token: string(cp.Password)}
	tc, isTLS := c.nc.(*tls.Conn)
	if isTLS {
		if st := tc.ConnectionState(); len(st.VerifiedChains) > 0 {
			creds.TLSCerts = st.VerifiedChains[0]
		}
	}
	bs, err := c.l.srv.OpenSession(server.SessionInfo{
		Name: id, Lang: "mqtt", Remote: c.nc.RemoteAddr(), Creds: creds, TLS: isTLS,
		OnClose: func(string) { c.shutdown(mqtt.AdministrativeAction) },
	})
	switch {
	case errors.Is(err, server.ErrNotAuthorized):
		c.refuse(mqtt.BadUserNameOrPassword)
		return errClose
	case err != nil:
		c.refuse(mqtt.ServerBusy)
		return errClose
	}
	c.bs = bs
	if cp.Will != nil {
		w, code := c.willOf(cp.Will)
		if code != 0 {
			bs.Close()
			c.refuse(code)
			return errClose
		}
		c.will = w
	}

	ack := &mqtt.Connack{}
	if c.v == mqtt.V5 {
		ack.Props = ack.Props.
			AddNum(mqtt.PropReceiveMaximum, uint32(c.l.opts.MaxInflight)).
			AddNum(mqtt.PropMaximumPacketSize, uint32(c.l.opts.MaxPacketSize)).
			AddNum(mqtt.PropTopicAliasMaximum, uint32(c.l.opts.TopicAliasMaximum))
		if assigned {
			ack.Props = ack.Props.AddBytes(mqtt.PropAssignedClientID, []byte(id))
		}
		if expiry != cp.Props.Num(mqtt.PropSessionExpiry, 0) {
			ack.Props = ack.Props.AddNum(mqtt.PropSessionExpiry, expiry)
		}
	}
	c.l.attach(c, id, cp.CleanStart, expiry, ack)
	c.debug("mqtt client connected", "version", c.v, "user", bs.User(), "clean", cp.CleanStart, "expiry", expiry)
	if c.keepAlive > 0 {
		// [MQTT-3.1.2-24]: one and a half times the keep alive.
		c.kaDeadline.Store(time.Now().Add(c.keepAlive * 3 / 2).UnixNano())
	}
	c.restoreDeadline()
	return nil
}

// refuse answers CONNECT with a failure (an MQTT 5 reason code, mapped for
// 3.1.1) and closes the connection.
func (c *conn) refuse(code byte) {
	if c.v != mqtt.V5 {
		code = mqtt.ConnackCode311(code)
	}
	c.send(&mqtt.Connack{Code: code})
	c.closeAfterFlush()
}

// willOf checks and converts a CONNECT's will; a non-zero code refuses the
// connection.
func (c *conn) willOf(w *mqtt.Will) (*will, byte) {
	subj, err := mqtt.TopicToSubject(nil, w.Topic)
	if err != nil {
		return nil, mqtt.TopicNameInvalid
	}
	if !c.bs.CanPublish(subj) {
		return nil, mqtt.NotAuthorized
	}
	p := &mqtt.Publish{QoS: w.QoS, Retain: w.Retain, Topic: w.Topic, Props: w.Props, Payload: w.Payload}
	m, code := fromPublish(p, subj, time.Now())
	if code != 0 {
		return nil, code
	}
	wl := &will{m: m.clone(), delay: time.Duration(w.Props.Num(mqtt.PropWillDelay, 0)) * time.Second}
	return wl, 0
}

func newClientID() string {
	var b [12]byte
	rand.Read(b[:])
	return "wren-" + hex.EncodeToString(b[:])
}
