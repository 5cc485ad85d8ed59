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
}

// Clone returns a copy of m that owns its bytes, in one allocation.
func (m *Msg) Clone() *Msg {
	buf := make([]byte, 0, len(m.Subject)+len(m.Reply)+len(m.Header)+len(m.Data))
	c := &Msg{Trace: m.Trace}
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
