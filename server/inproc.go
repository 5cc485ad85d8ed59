package server

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/wrenmq/wren/protocol"
)

// ErrClosed is returned by an in-process connection after Close.
var ErrClosed = errors.New("connection closed")

// InProc is an in-process connection to the broker for services that run
// inside the daemon, such as the stream layer: no socket, no parsing. Its
// methods are safe for concurrent use.
//
// Handlers run on the publisher's goroutine, with the message's slices valid
// only during the call: a handler must copy what it keeps and hand slow work
// to another goroutine, never block.
type InProc struct {
	c    *client
	pool sync.Pool
	sid  atomic.Uint64
}

// InProc opens an in-process connection named for logs and monitoring.
func (s *Server) InProc(name string) *InProc {
	s.mu.Lock()
	s.nextCID++
	c := newClient(s, nil, s.nextCID, kindInProc)
	c.opts = connectOpts{Echo: true, Headers: true, Name: name, Lang: "inproc"}
	c.connected = true
	s.clients[c.cid] = c
	s.mu.Unlock()
	ip := &InProc{c: c}
	ip.pool.New = func() any {
		p := &producer{}
		p.init(c)
		return p
	}
	return ip
}

// Subscribe delivers messages on subject (a filter) to h; with a queue name,
// one member of the group gets each message. It returns a function that
// ends the subscription.
func (ip *InProc) Subscribe(subject, queue string, h func(m *protocol.Msg)) (unsubscribe func(), err error) {
	return ip.subscribe(subject, queue, h, false)
}

func (ip *InProc) subscribe(subject, queue string, h func(m *protocol.Msg), traced bool) (unsubscribe func(), err error) {
	if h == nil {
		return nil, errors.New("nil handler")
	}
	if !protocol.ValidFilter(subject) || (queue != "" && !protocol.ValidLiteral(queue)) {
		return nil, ErrInvalidSubject
	}
	sid := strconv.FormatUint(ip.sid.Add(1), 10)
	sub := &subscription{client: ip.c, subject: subject, queue: queue, sid: sid, handler: h, traced: traced}
	if err := ip.c.addSub(sub); err != nil {
		if err == errClosing {
			return nil, ErrClosed
		}
		return nil, err
	}
	return func() { ip.c.unsub(sid, 0) }, nil
}

// Publish sends a message as any client would; header is a NATS/1.0 header
// block or nil. The bytes are copied before Publish returns.
func (ip *InProc) Publish(subject, reply string, header, data []byte) error {
	p := ip.pool.Get().(*producer)
	err := ip.publishWith(p, subject, reply, header, data)
	p.flush()
	ip.pool.Put(p)
	return err
}

// PublishBatch runs fn with a publish function that queues messages like
// Publish but writes to each receiving connection only once, when fn
// returns: a burst of replies (PubAcks for one group commit) leaves in as
// few socket writes as possible. A connection whose writer is idle and
// whose queue is short is written by the caller at once, with one
// non-blocking writev, as a read loop does (see signalNow): a PubAck then
// leaves without waking a write loop.
func (ip *InProc) PublishBatch(fn func(publish func(subject, reply string, header, data []byte) error)) {
	b := publishBatches.Get().(*publishBatch)
	b.ip, b.p = ip, ip.pool.Get().(*producer)
	fn(b.fn)
	b.p.flushNow()
	ip.pool.Put(b.p)
	b.ip, b.p = nil, nil
	publishBatches.Put(b)
}

// publishBatch is the state of one PublishBatch; fn is its publish
// method, made once, so that a batch (a sync publish's PubAck) allocates
// nothing.
type publishBatch struct {
	ip *InProc
	p  *producer
	fn func(subject, reply string, header, data []byte) error
}

var publishBatches = sync.Pool{New: func() any {
	b := &publishBatch{}
	b.fn = b.publish
	return b
}}

func (b *publishBatch) publish(subject, reply string, header, data []byte) error {
	return b.ip.publishWith(b.p, subject, reply, header, data)
}

// publishWith queues one message through p; the caller flushes p.
func (ip *InProc) publishWith(p *producer, subject, reply string, header, data []byte) error {
	if !protocol.ValidLiteral(subject) {
		return ErrInvalidSubject
	}
	ip.c.mu.Lock()
	closed := ip.c.closed
	ip.c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	ip.c.inMsgs.Add(1)
	ip.c.inBytes.Add(int64(len(header) + len(data)))
	p.publish(bytesOf(subject), bytesOf(reply), header, data)
	return nil
}

// PublishAs delivers to the subscribers of route a message that carries
// subject instead: the stream layer hands a stored message to a pull
// request's inbox or a push consumer's deliver subject this way, with the
// subject it was published to, as JetStream clients expect. The bytes are
// copied before PublishAs returns.
func (ip *InProc) PublishAs(route, subject, reply string, header, data []byte) error {
	if !protocol.ValidLiteral(route) || !protocol.ValidLiteral(subject) {
		return ErrInvalidSubject
	}
	ip.c.mu.Lock()
	closed := ip.c.closed
	ip.c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	ip.c.inMsgs.Add(1)
	ip.c.inBytes.Add(int64(len(header) + len(data)))
	p := ip.pool.Get().(*producer)
	p.publishAs(bytesOf(route), bytesOf(subject), bytesOf(reply), header, data)
	p.flush()
	ip.pool.Put(p)
	return nil
}

// HasInterest reports whether any subscription matches subject (a literal
// subject), as the stream layer asks before pushing to a deliver subject.
func (ip *InProc) HasInterest(subject string) bool {
	if !protocol.ValidLiteral(subject) {
		return false
	}
	return !ip.c.srv.sl.matchBytes(bytesOf(subject)).empty()
}

// Close ends every subscription of the connection.
func (ip *InProc) Close() {
	ip.c.teardown()
}

// bytesOf views a string's bytes without copying; the broker only reads
// them.
func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
