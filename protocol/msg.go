package protocol

// Msg is a message handed to an in-process subscriber. Its slices are valid
// only during the handler call; use Clone to keep it.
type Msg struct {
	Subject []byte
	Reply   []byte
	Header  []byte // the NATS/1.0 header block, or nil
	Data    []byte
	// Trace is set while the message is being traced (see Tracer).
	Trace Tracer
	// Sender is the client that published the message when a client did
	// (a socket connection), nil when the server itself did. A subscriber
	// that publishes somewhere on the client's behalf asks it first.
	Sender Sender
}

// Sender is the client a message came from, as the broker describes it to
// in-process subscribers.
type Sender interface {
	// MayPublish reports whether the server may publish to subject (a
	// literal subject) on this client's behalf: its publish permissions
	// allow the subject, or nobody but this client listens on it.
	MayPublish(subject string) bool
}

// Clone returns a copy of m that owns its bytes, in one allocation.
func (m *Msg) Clone() *Msg {
	buf := make([]byte, 0, len(m.Subject)+len(m.Reply)+len(m.Header)+len(m.Data))
	c := &Msg{Trace: m.Trace, Sender: m.Sender}
	buf = append(buf, m.Subject...)
	c.Subject = buf[:len(m.Subject):len(m.Subject)]
	buf = append(buf, m.Reply...)
	c.Reply = buf[len(c.Subject):len(buf):len(buf)]
	if m.Header != nil {
		buf = append(buf, m.Header...)
		c.Header = buf[len(buf)-len(m.Header) : len(buf) : len(buf)]
	}
	buf = append(buf, m.Data...)
	c.Data = buf[len(buf)-len(m.Data):]
	if len(c.Reply) == 0 {
		c.Reply = nil
	}
	return c
}
