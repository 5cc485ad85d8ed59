package mqtt

import (
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"sync"
)

// Store keeps what outlives a connection and, with a durable Store, a
// restart: persistent sessions, the QoS 1 and 2 messages queued for them,
// and retained messages. Keys are NATS subjects built by this package
// ("r.<subject>", "s.<id>", "m.<id>.<seq>", "q.<id>.<packet id>").
//
// Put and Delete must not block: they queue the change and call done (when
// not nil) on another goroutine once it is durable, or with the error that
// kept it from being stored. Changes are applied in the order they are
// made; Sync calls done once every change made before it is durable.
type Store interface {
	Put(key string, value []byte, done func(error))
	Delete(key string, done func(error))
	Sync(done func(error))
	// Load calls fn for every stored key with prefix, in key order, before
	// the listener starts.
	Load(prefix string, fn func(key string, value []byte)) error
	// Holds reports whether a stream stores messages published to subject
	// (a literal): NATS-published messages on such a subject reach QoS 1
	// subscribers at QoS 1.
	Holds(subject string) bool
}

// MemStore is a Store in memory: sessions and retained messages last for the
// daemon's lifetime.
type MemStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{m: make(map[string][]byte)} }

func (s *MemStore) Put(key string, value []byte, done func(error)) {
	s.mu.Lock()
	s.m[key] = append([]byte(nil), value...)
	s.mu.Unlock()
	if done != nil {
		go done(nil)
	}
}

func (s *MemStore) Delete(key string, done func(error)) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	if done != nil {
		go done(nil)
	}
}

func (s *MemStore) Sync(done func(error)) { go done(nil) }

func (s *MemStore) Load(prefix string, fn func(key string, value []byte)) error {
	s.mu.Lock()
	keys := make([]string, 0)
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = s.m[k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		fn(k, vals[i])
	}
	return nil
}

func (s *MemStore) Holds(string) bool { return false }

// message is a message as this package keeps it: its NATS subject, reply
// subject and header block (which carry the MQTT properties, see
// headers.go) and payload, with the QoS it was published at.
type message struct {
	subject []byte
	reply   []byte
	header  []byte
	data    []byte
	qos     byte
	retain  bool
	expires int64 // Unix seconds after which it is not delivered; 0 never
}

var errBadRecord = errors.New("mqtt: damaged store record")

// encode appends m's record: version, qos, flags, expiry, then the four
// byte strings, each with a uvarint length.
func (m *message) encode(dst []byte) []byte {
	var fl byte
	if m.retain {
		fl = 1
	}
	dst = append(dst, 1, m.qos, fl)
	dst = binary.AppendVarint(dst, m.expires)
	for _, b := range [][]byte{m.subject, m.reply, m.header, m.data} {
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	return dst
}

// decodeMessage reads a record written by encode; the message points into b.
func decodeMessage(b []byte) (*message, error) {
	if len(b) < 3 || b[0] != 1 || b[1] > 2 {
		return nil, errBadRecord
	}
	m := &message{qos: b[1], retain: b[2]&1 != 0}
	b = b[3:]
	var n int
	if m.expires, n = binary.Varint(b); n <= 0 {
		return nil, errBadRecord
	}
	b = b[n:]
	for _, f := range []*[]byte{&m.subject, &m.reply, &m.header, &m.data} {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, errBadRecord
		}
		*f = b[n : n+int(l) : n+int(l)]
		b = b[n+int(l):]
	}
	if len(b) != 0 || len(m.subject) == 0 {
		return nil, errBadRecord
	}
	if len(m.header) == 0 {
		m.header = nil
	}
	if len(m.reply) == 0 {
		m.reply = nil
	}
	return m, nil
}
