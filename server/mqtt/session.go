package mqtt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
	"github.com/wrenmq/wren/server"
)

// session is an MQTT session: it outlives its connection when its expiry
// is not zero. Its subscriptions are broker subscriptions of the broker
// session of the latest connection, so QoS 1 and 2 messages are queued
// while the client is away.
type session struct {
	l   *Listener
	id  string
	key string // the store key part: a hash of id

	mu sync.Mutex
	c  *conn // attached connection, nil while offline
	bs *server.Session
	// expiry in seconds; expiryAtConnect is what the connection asked for
	// (a DISCONNECT may not raise 0 to something else).
	expiry          uint32
	expiryAtConnect uint32
	subs            map[string]*msub
	nextID          uint16
	seq             uint64
	inflight        map[uint16]*pending // sent, waiting for the client
	queue           []*pending          // waiting for the window or the client
	rcvd            map[uint16]bool     // inbound QoS 2 ids waiting for PUBREL
	expTimer        *time.Timer
	willTimer       *time.Timer
	will            *will // waiting for willTimer
	ended           bool
	user            string // who the session's subscriptions act for

	// Scratch space for sendLocked.
	topic []byte
	props mqtt.Props
	pub   mqtt.Publish
}

// msub is one subscription of a session.
type msub struct {
	filter string // as the client sent it, the session's key for it
	opts   byte
	subID  uint32
	group  string   // $share group, or ""
	nats   []string // the subjects subscribed: the filter, and its parent for "a/#"
	// bsubs are the broker subscriptions of nats on the session's broker
	// session, nil where one is not allowed (the parent of "a/#").
	bsubs []*server.Subscription
}

// drop ends ms's broker subscriptions.
func (ms *msub) drop() {
	for _, x := range ms.bsubs {
		if x != nil {
			x.Unsubscribe()
		}
	}
	ms.bsubs = nil
}

func (ms *msub) qos() byte { return ms.opts & 3 }

// pending is a QoS 1 or 2 message for the client.
type pending struct {
	m     *message
	qos   byte
	id    uint16 // 0 until sent
	rel   bool   // PUBREC received, PUBREL sent
	seq   uint64 // store sequence, 0 when not stored
	subID uint32
	rap   bool // keep the retain flag (Retain As Published, or a retained message sent on subscribe)
}

func sessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:16])
}

func (l *Listener) newSession(id string) *session {
	return &session{
		l: l, id: id, key: sessionKey(id),
		subs: make(map[string]*msub, 1),
	}
}

func (s *session) persistent() bool { return s.expiry > 0 }

// attach makes c the session's connection: a session of the same client
// id is taken over (its connection disconnected) or, with clean start,
// discarded. It sends the CONNACK and then what the session owes the client.
func (l *Listener) attach(c *conn, id string, clean bool, expiry uint32, ack *mqtt.Connack) {
	l.mu.Lock()
	s := l.sessions[id]
	if s != nil && clean {
		delete(l.sessions, id)
		l.mu.Unlock()
		s.mu.Lock()
		old := s.c
		s.mu.Unlock()
		s.end(true)
		if old != nil {
			old.shutdown(mqtt.SessionTakenOver)
		}
		l.mu.Lock()
		s = l.sessions[id] // another connection may have made one meanwhile
	}
	present := s != nil
	if s == nil {
		s = l.newSession(id)
		l.sessions[id] = s
	}
	l.mu.Unlock()

	s.mu.Lock()
	old := s.c
	oldBS := s.bs
	s.c, s.bs = c, c.bs
	s.user = c.bs.User()
	c.s = s
	s.expiry, s.expiryAtConnect = expiry, expiry
	if s.expTimer != nil {
		s.expTimer.Stop()
		s.expTimer = nil
	}
	if s.willTimer != nil {
		// [MQTT-3.1.3-9]: back before the will delay: no will.
		s.willTimer.Stop()
		s.willTimer, s.will = nil, nil
	}
	ack.SessionPresent = present
	c.send(ack)
	for _, ms := range s.subs {
		s.subscribeLocked(ms)
	}
	s.resendLocked()
	s.saveLocked()
	s.mu.Unlock()
	if old != nil {
		old.debug("mqtt session taken over", "by", c.id)
		old.shutdown(mqtt.SessionTakenOver)
	}
	if oldBS != nil && oldBS != c.bs && old == nil {
		oldBS.Close()
	}
}

// detach ends c's hold on the session: the session ends with an expiry of
// 0, and otherwise waits offline for the client. The will is published, at
// once or after its delay.
func (s *session) detach(c *conn) {
	w := c.will
	c.will = nil
	s.mu.Lock()
	if s.c != c || s.ended {
		// Taken over: the new connection's broker session has the
		// subscriptions; this one only sends the will, unless it has a
		// delay and the session goes on: the new connection came within
		// it [MQTT-3.1.3-9].
		ended := s.ended
		s.mu.Unlock()
		if w != nil && (w.delay == 0 || ended) {
			s.l.publishWill(c.bs, w)
		}
		c.bs.Close()
		return
	}
	s.c = nil
	ending := s.expiry == 0
	delay := time.Duration(0)
	if w != nil {
		delay = min(w.delay, time.Duration(s.expiry)*time.Second)
	}
	if !ending {
		if w != nil && delay > 0 {
			s.will = w
			s.willTimer = time.AfterFunc(delay, s.fireWill)
			w = nil
		}
		if s.expiry != neverExpires {
			s.expTimer = time.AfterFunc(time.Duration(s.expiry)*time.Second, func() { s.l.expire(s) })
		}
		s.saveLocked()
	}
	s.mu.Unlock()
	if !ending {
		c.bs.Offline() // the session waits; the connection is gone
	}
	if w != nil {
		s.l.publishWill(c.bs, w)
	}
	if ending {
		s.l.mu.Lock()
		if s.l.sessions[s.id] == s {
			delete(s.l.sessions, s.id)
		}
		s.l.mu.Unlock()
		s.end(false)
	}
}

// expire ends a session that stayed offline past its expiry.
func (l *Listener) expire(s *session) {
	l.mu.Lock()
	s.mu.Lock()
	if s.c != nil || s.ended {
		s.mu.Unlock()
		l.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if l.sessions[s.id] == s {
		delete(l.sessions, s.id)
	}
	l.mu.Unlock()
	l.log.Debug("mqtt session expired", "client_id", s.id)
	s.end(false)
}

// end discards the session: its subscriptions, queued messages and stored
// state. A will still waiting for its delay is published first
// [MQTT-3.1.3-9], unless a clean start discards the session.
func (s *session) end(clean bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	for _, ms := range s.subs {
		ms.drop()
	}
	var keys []string
	for _, p := range s.inflight {
		if p.seq > 0 {
			keys = append(keys, s.msgKey(p.seq))
		}
	}
	for _, p := range s.queue {
		if p.seq > 0 {
			keys = append(keys, s.msgKey(p.seq))
		}
	}
	for id := range s.rcvd {
		keys = append(keys, s.rcvdKey(id))
	}
	s.subs, s.inflight, s.queue, s.rcvd = map[string]*msub{}, nil, nil, nil
	online := s.c != nil
	bs := s.bs
	if !online {
		s.bs = nil
	}
	wt, w := s.willTimer, s.will
	s.willTimer, s.will = nil, nil
	if s.expTimer != nil {
		s.expTimer.Stop()
	}
	s.mu.Unlock()
	if wt != nil && wt.Stop() && !clean && w != nil && bs != nil {
		s.l.publishWill(bs, w)
	}
	for _, k := range keys {
		s.l.del(k, nil)
	}
	s.l.del("s."+s.key, nil)
	if bs != nil && !online {
		bs.Close()
	}
}

// fireWill publishes the will whose delay passed.
func (s *session) fireWill() {
	s.mu.Lock()
	w, bs := s.will, s.bs
	s.will, s.willTimer = nil, nil
	s.mu.Unlock()
	if w != nil && bs != nil {
		s.l.publishWill(bs, w)
	}
}

func (s *session) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expTimer != nil {
		s.expTimer.Stop()
	}
	if s.willTimer != nil {
		s.willTimer.Stop()
	}
}

func (s *session) setExpiry(secs uint32) {
	s.mu.Lock()
	s.expiry = secs
	s.mu.Unlock()
}

func (s *session) msgKey(seq uint64) string {
	return "m." + s.key + "." + strconv.FormatUint(seq, 10)
}

func (s *session) rcvdKey(id uint16) string {
	return "q." + s.key + "." + strconv.Itoa(int(id))
}

// sessionRecord is what the store keeps of a session.
type sessionRecord struct {
	ID     string      `json:"id"`
	User   string      `json:"user,omitempty"`
	Expiry uint32      `json:"expiry"`
	Left   int64       `json:"left,omitempty"` // Unix time it went offline; 0 online
	Subs   []subRecord `json:"subs,omitempty"`
}

type subRecord struct {
	Filter string `json:"f"`
	Opts   byte   `json:"o"`
	SubID  uint32 `json:"i,omitempty"`
}

// saveLocked stores the session's state, if it is persistent.
func (s *session) saveLocked() {
	if !s.persistent() || s.ended {
		return
	}
	r := sessionRecord{ID: s.id, User: s.user, Expiry: s.expiry}
	if s.c == nil {
		r.Left = time.Now().Unix()
	}
	for _, ms := range s.subs {
		r.Subs = append(r.Subs, subRecord{Filter: ms.filter, Opts: ms.opts, SubID: ms.subID})
	}
	sort.Slice(r.Subs, func(i, j int) bool { return r.Subs[i].Filter < r.Subs[j].Filter })
	b, _ := json.Marshal(&r)
	s.l.put("s."+s.key, b, nil)
}

// load restores sessions, their messages and retained messages from the
// store. Sessions come back offline, their subscriptions in place (see
// restoreSubs).
func (l *Listener) load() error {
	now := time.Now()
	err := l.store.Load("s.", func(key string, v []byte) {
		var r sessionRecord
		if json.Unmarshal(v, &r) != nil || r.ID == "" || sessionKey(r.ID) != key[2:] {
			l.log.Warn("mqtt: skipping a damaged session record", "key", key)
			return
		}
		s := l.newSession(r.ID)
		s.expiry, s.user = r.Expiry, r.User
		for _, sr := range r.Subs {
			if ms, code := newMsub([]byte(sr.Filter), sr.Opts, sr.SubID); code == 0 {
				s.subs[sr.Filter] = ms
			}
		}
		left := r.Left
		if left == 0 {
			left = now.Unix()
		}
		if s.expiry != neverExpires {
			rem := time.Duration(left+int64(s.expiry)-now.Unix()) * time.Second
			if rem <= 0 {
				s.ended = true
				l.del(key, nil)
				return
			}
			s.expTimer = time.AfterFunc(rem, func() { l.expire(s) })
		}
		l.sessions[r.ID] = s
	})
	if err != nil {
		return err
	}
	byKey := make(map[string]*session, len(l.sessions))
	for _, s := range l.sessions {
		byKey[s.key] = s
	}
	split := func(key string) (*session, string) {
		rest := key[2:]
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return nil, ""
		}
		return byKey[rest[:i]], rest[i+1:]
	}
	if err := l.store.Load("m.", func(key string, v []byte) {
		s, n := split(key)
		seq, err := strconv.ParseUint(n, 10, 64)
		p, perr := decodePending(v)
		if s == nil || err != nil || perr != nil {
			l.del(key, nil)
			return
		}
		p.seq = seq
		s.seq = max(s.seq, seq)
		if p.id != 0 && s.inflight[p.id] == nil {
			if s.inflight == nil {
				s.inflight = make(map[uint16]*pending)
			}
			s.inflight[p.id] = p
		} else {
			p.id = 0
			s.queue = append(s.queue, p)
		}
	}); err != nil {
		return err
	}
	for _, s := range l.sessions {
		sort.Slice(s.queue, func(i, j int) bool { return s.queue[i].seq < s.queue[j].seq })
	}
	if err := l.store.Load("q.", func(key string, v []byte) {
		s, n := split(key)
		id, err := strconv.Atoi(n)
		if s == nil || err != nil || id <= 0 || id > 65535 {
			l.del(key, nil)
			return
		}
		if s.rcvd == nil {
			s.rcvd = make(map[uint16]bool)
		}
		s.rcvd[uint16(id)] = true
	}); err != nil {
		return err
	}
	return l.store.Load("r.", func(key string, v []byte) {
		m, err := decodeMessage(v)
		if err != nil || m.expires > 0 && m.expires <= now.Unix() {
			l.del(key, nil)
			return
		}
		l.ret.set(m.subject, m)
	})
}

// encodePending is a stored QoS 1/2 message: its packet id and state once
// sent, then the message.
func (p *pending) encode() []byte {
	var fl byte
	if p.rel {
		fl |= 1
	}
	if p.rap {
		fl |= 2
	}
	b := []byte{1, fl, byte(p.id >> 8), byte(p.id), p.qos}
	b = strconv.AppendUint(b, uint64(p.subID), 10)
	b = append(b, 0)
	return p.m.encode(b)
}

func decodePending(b []byte) (*pending, error) {
	if len(b) < 6 || b[0] != 1 || b[4] < 1 || b[4] > 2 {
		return nil, errBadRecord
	}
	p := &pending{rel: b[1]&1 != 0, rap: b[1]&2 != 0, id: uint16(b[2])<<8 | uint16(b[3]), qos: b[4]}
	rest := b[5:]
	i := strings.IndexByte(string(rest), 0)
	if i < 0 {
		return nil, errBadRecord
	}
	id, err := strconv.ParseUint(string(rest[:i]), 10, 32)
	if err != nil {
		return nil, errBadRecord
	}
	p.subID = uint32(id)
	m, err := decodeMessage(rest[i+1:])
	if err != nil {
		return nil, err
	}
	p.m = m.clone()
	return p, nil
}

// clone copies m's bytes.
func (m *message) clone() *message {
	c := *m
	buf := make([]byte, 0, len(m.subject)+len(m.reply)+len(m.header)+len(m.data))
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, b...)
		return buf[start:len(buf):len(buf)]
	}
	c.subject, c.reply, c.header, c.data = take(m.subject), take(m.reply), take(m.header), take(m.data)
	if c.data == nil {
		c.data = []byte{}
	}
	return &c
}

// restoreSubs gives each restored session with subscriptions a broker
// session as the user it belonged to, so QoS 1 and 2 messages published
// before its client is back are queued for it. A user no longer configured
// keeps the session's subscriptions for when the client reconnects (and is
// authorized again).
func (l *Listener) restoreSubs() {
	for _, s := range l.sessions {
		if len(s.subs) == 0 || s.ended {
			continue
		}
		s := s
		var bs *server.Session
		bs, err := l.srv.RestoreSession(server.SessionInfo{Name: s.id, Lang: "mqtt", OnClose: func(string) {
			s.mu.Lock()
			mine := s.bs == bs && s.c == nil
			if mine {
				s.bs = nil
			}
			s.mu.Unlock()
			if mine {
				go bs.Close()
			}
		}}, s.user)
		if err != nil {
			l.log.Warn("mqtt: a restored session's user is not configured; its subscriptions wait for the client", "client_id", s.id, "user", s.user, "error", err)
			continue
		}
		s.mu.Lock()
		s.bs = bs
		for _, ms := range s.subs {
			if err := s.subscribeLocked(ms); err != nil {
				l.log.Warn("mqtt: a restored subscription is no longer allowed", "client_id", s.id, "filter", ms.filter, "error", err)
			}
		}
		s.mu.Unlock()
	}
}
