package jetstore

import (
	"sync"

	"github.com/wrenmq/wren/protocol"
)

// A published message's slices are valid only while the broker's handler
// runs, so the stream copies each message it queues. The copies are
// reused: once the writer (or an inline commit) has stored a message and
// answered its publisher, nothing refers to the copy any more, and the
// next publish fills it again. A client publishing one message at a time
// so costs no allocation for its copy.
//
// The copies live in a sync.Pool, shared by every stream: the garbage
// collector empties it, so a stream that stops publishing keeps none, and
// memory stays that of the messages in flight.

// maxReusedCopy is the largest buffer a copy keeps for reuse; the copy of
// a larger message is left to the garbage collector.
const maxReusedCopy = 64 << 10

// msgCopy is a stream's own copy of a published message: msg, whose
// subject, reply and data (and header, unless the stream rewrote it) are
// slices of buf.
type msgCopy struct {
	msg protocol.Msg
	buf []byte
}

var msgCopies = sync.Pool{New: func() any { return new(msgCopy) }}

// copyMsg returns a copy of m that owns its bytes, from the pool.
func copyMsg(m *protocol.Msg) *msgCopy {
	c := msgCopies.Get().(*msgCopy)
	n := len(m.Subject) + len(m.Reply) + len(m.Header) + len(m.Data)
	buf := c.buf[:0]
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	// Each part is capped at its length, so that an append to one (a
	// rewritten header) never runs into the next.
	buf = append(buf, m.Subject...)
	subject := buf[:len(buf):len(buf)]
	at := len(buf)
	buf = append(buf, m.Reply...)
	reply := buf[at:len(buf):len(buf)]
	if len(reply) == 0 {
		reply = nil
	}
	var header []byte
	if m.Header != nil {
		at = len(buf)
		buf = append(buf, m.Header...)
		header = buf[at:len(buf):len(buf)]
	}
	at = len(buf)
	buf = append(buf, m.Data...)
	c.buf = buf
	c.msg = protocol.Msg{
		Subject: subject,
		Reply:   reply,
		Header:  header,
		Data:    buf[at:len(buf):len(buf)],
		Trace:   m.Trace,
		Sender:  m.Sender,
	}
	return c
}

// release gives c back for reuse; nothing may use c or its message after.
func (c *msgCopy) release() {
	c.msg = protocol.Msg{}
	if cap(c.buf) > maxReusedCopy {
		c.buf = nil
	}
	msgCopies.Put(c)
}
