package mqtt

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/protocol/mqtt"
)

// Request/response with correlation data. An MQTT 5 request names a
// response topic and correlation data; a NATS responder answers the reply
// subject with neither. So a request carrying correlation data gets a reply
// subject of its connection's own (replyPrefix.<uid>.<n>), and what arrives
// there is published on the response topic with the correlation data put
// back (Mqtt-Correlation), for every subscriber of that topic. Without
// correlation data the response topic is the reply subject itself.
const (
	replyPrefix = "_MQTT_R."
	// maxReplies bounds the requests a connection remembers; the oldest
	// are forgotten first. replyTTL is how long one is remembered.
	maxReplies = 256
	replyTTL   = 5 * time.Minute
)

type replyTo struct {
	subject []byte // the response topic, as a subject
	hdr     []byte // "Mqtt-Correlation: <base64>\r\n"
	at      time.Time
}

// replies is a connection's table of open requests.
type replies struct {
	mu      sync.Mutex
	prefix  string
	failed  bool
	next    uint64
	pending map[uint64]*replyTo
	order   []uint64
}

// replySubject returns the reply subject for a request to respond on
// subject with correlation data corr, or subject itself when the
// connection cannot take replies of its own (its user may not subscribe to
// them).
func (c *conn) replySubject(subject, corr []byte) []byte {
	r := &c.replies
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		return subject
	}
	if r.prefix == "" {
		var b [8]byte
		rand.Read(b[:])
		r.prefix, r.pending = replyPrefix+hex.EncodeToString(b[:])+".", make(map[uint64]*replyTo)
		// Nothing publishes to the new subject before it is returned below,
		// so onReply cannot run (and wait for r.mu) meanwhile.
		if _, err := c.bs.Subscribe(r.prefix+"*", "", false, c.onReply); err != nil {
			r.prefix, r.pending, r.failed = "", nil, true
			return subject
		}
	}
	now := time.Now()
	for len(r.order) > 0 && (len(r.order) >= maxReplies || now.Sub(r.pending[r.order[0]].at) > replyTTL) {
		delete(r.pending, r.order[0])
		r.order = r.order[1:]
	}
	r.next++
	hdr := append([]byte(hdrCorrelation+": "), base64.StdEncoding.EncodeToString(corr)...)
	r.pending[r.next] = &replyTo{subject: append([]byte(nil), subject...), hdr: append(hdr, "\r\n"...), at: now}
	r.order = append(r.order, r.next)
	return []byte(r.prefix + strconv.FormatUint(r.next, 10))
}

// onReply publishes a response that came to one of the connection's reply
// subjects on the request's response topic, with its correlation data.
func (c *conn) onReply(bm *protocol.Msg) {
	r := &c.replies
	r.mu.Lock()
	var to *replyTo
	if len(bm.Subject) > len(r.prefix) {
		if n, err := strconv.ParseUint(string(bm.Subject[len(r.prefix):]), 10, 64); err == nil {
			to = r.pending[n]
		}
	}
	r.mu.Unlock()
	if to == nil {
		return
	}
	// The response's own header fields, minus any correlation of its own,
	// then the request's correlation data.
	h := protocol.AppendHeaderStart(make([]byte, 0, len(bm.Header)+len(to.hdr)+16), 0, "")
	protocol.HeaderFields(bm.Header, func(name, value []byte) bool {
		if string(name) != hdrCorrelation {
			h = protocol.AppendHeaderField(h, string(name), string(value))
		}
		return true
	})
	h = protocol.AppendHeaderEnd(append(h, to.hdr...))
	if err := c.bs.Publish(to.subject, bm.Reply, h, bm.Data); err != nil {
		c.debug("mqtt response not delivered to its response topic", "subject", string(to.subject), "error", err)
	}
}

// correlation returns a PUBLISH's correlation data, if any.
func correlation(p *mqtt.Publish) ([]byte, bool) {
	pr, ok := p.Props.Get(mqtt.PropCorrelationData)
	return pr.Val, ok
}
