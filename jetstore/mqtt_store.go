package jetstore

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wrenmq/wren/protocol"
)

// MQTT state lives in one stream, MQTTStateStream, that keeps the last
// message of each subject under mqttPrefix: a key-value store whose
// changes are written, fsynced and acknowledged in order like any other
// stream's messages. A deletion is an empty message that expires after a
// second (and replaces the value at once).
const (
	MQTTStateStream = "MQTT_STATE"
	mqttPrefix      = "$MQTT."
	mqttTombTTL     = "1s"
)

// MQTTStore keeps the MQTT listener's sessions, their QoS 1 and 2 messages
// and retained messages in the stream layer, so they survive a restart and
// an acknowledged QoS 1/2 publish survives kill -9 like a PubAck'd one. It
// satisfies the MQTT listener's Store interface.
type MQTTStore struct {
	js    *JetStream
	st    *stream
	inbox string
	unsub func()
	n     atomic.Uint64

	mu      sync.Mutex
	waiting map[uint64]func(error)
	tomb    []byte
}

// MQTTStore opens (creating it if needed) the stream that holds MQTT state.
func (js *JetStream) MQTTStore() (*MQTTStore, error) {
	cfg, e := normalize(StreamConfig{
		Name:              MQTTStateStream,
		Description:       "MQTT sessions, their QoS 1 and 2 messages and retained messages",
		Subjects:          []string{mqttPrefix + ">"},
		MaxMsgsPerSubject: 1,
		AllowMsgTTL:       true,
	})
	if e != nil {
		return nil, e
	}
	st, existed, e := js.addStream(MQTTStateStream, cfg)
	if e != nil {
		return nil, e
	}
	if !existed {
		if err := st.start(); err != nil {
			return nil, err
		}
	}
	var b [8]byte
	rand.Read(b[:])
	s := &MQTTStore{js: js, st: st, inbox: "_MQTT_ACK." + hex.EncodeToString(b[:]) + ".", waiting: make(map[uint64]func(error))}
	s.tomb = protocol.AppendHeaderStart(nil, 0, "")
	s.tomb = protocol.AppendHeaderField(s.tomb, hdrTTL, mqttTombTTL)
	s.tomb = protocol.AppendHeaderEnd(s.tomb)
	unsub, err := js.bus.Subscribe(s.inbox+"*", "", s.onAck)
	if err != nil {
		return nil, err
	}
	s.unsub = unsub
	return s, nil
}

// onAck completes the change a PubAck answers.
func (s *MQTTStore) onAck(m *protocol.Msg) {
	n, err := strconv.ParseUint(string(m.Subject[len(s.inbox):]), 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	done := s.waiting[n]
	delete(s.waiting, n)
	s.mu.Unlock()
	if done == nil {
		return
	}
	var ack PubAck
	if jerr := json.Unmarshal(m.Data, &ack); jerr != nil {
		done(jerr)
	} else if ack.Error != nil {
		done(ack.Error)
	} else {
		done(nil)
	}
}

// publish writes one change; done (if any) runs once it is stored.
func (s *MQTTStore) publish(key string, header, value []byte, done func(error)) {
	reply, n := "", uint64(0)
	if done != nil {
		n = s.n.Add(1)
		reply = s.inbox + strconv.FormatUint(n, 10)
		s.mu.Lock()
		s.waiting[n] = done
		s.mu.Unlock()
	}
	if err := s.js.bus.Publish(mqttPrefix+key, reply, header, value); err != nil && done != nil {
		s.mu.Lock()
		_, still := s.waiting[n]
		delete(s.waiting, n)
		s.mu.Unlock()
		if still {
			done(err)
		}
	}
}

// Put stores value under key.
func (s *MQTTStore) Put(key string, value []byte, done func(error)) {
	if len(value) == 0 {
		if done != nil {
			done(errors.New("jetstore: an empty MQTT store value")) // empty is a deletion
		}
		return
	}
	s.publish(key, nil, value, done)
}

// Delete removes key.
func (s *MQTTStore) Delete(key string, done func(error)) {
	s.publish(key, s.tomb, nil, done)
}

// Sync calls done once every earlier change is stored.
func (s *MQTTStore) Sync(done func(error)) {
	s.publish("sync", nil, []byte{1}, done)
}

// Load calls fn for every stored key with prefix, in the order stored.
func (s *MQTTStore) Load(prefix string, fn func(key string, value []byte)) error {
	if !strings.HasSuffix(prefix, ".") {
		return errors.New("jetstore: MQTT store prefixes end in a dot")
	}
	filter := mqttPrefix + prefix + ">"
	seq := uint64(0)
	for {
		m, e := s.st.findMsg(msgGetRequest{Seq: seq, NextFor: filter})
		if e != nil {
			if e.ErrCode == errNoMessage().ErrCode {
				return nil
			}
			return e
		}
		seq = m.Seq + 1
		if len(m.Data) == 0 {
			continue // a deletion not yet expired
		}
		fn(m.Subject[len(mqttPrefix):], m.Data)
	}
}

// Holds reports whether a stream other than the MQTT state stream stores
// messages published to subject.
func (s *MQTTStore) Holds(subject string) bool {
	m := s.js.view.Load()
	if m == nil {
		return false
	}
	for name, st := range *m {
		if name == MQTTStateStream {
			continue
		}
		for _, f := range st.cfg().Subjects {
			if protocol.MatchLiteral(subject, f) {
				return true
			}
		}
	}
	return false
}

// Close stops taking acknowledgements.
func (s *MQTTStore) Close() {
	if s.unsub != nil {
		s.unsub()
	}
	s.mu.Lock()
	w := s.waiting
	s.waiting = map[uint64]func(error){}
	s.mu.Unlock()
	for _, done := range w {
		done(errors.New("jetstore: MQTT store closed"))
	}
}
