package conf

import "github.com/wrenmq/wren/protocol"

// MsgTrace turns on tracing for messages that carry a sampled W3C
// traceparent header, as nats-server's account msg_trace does: such a
// message, when it has no Nats-Trace-Dest of its own, is traced to Dest.
// Messages with Nats-Trace-Dest are traced whatever this says.
type MsgTrace struct {
	// Dest is the subject the trace events go to. Default empty: off.
	Dest string `toml:"dest"`
	// Sampling is the percentage of such messages traced, 1 to 100.
	// Default 100.
	Sampling int `toml:"sampling"`
}

func (v *checker) msgTrace(m *MsgTrace) {
	if m.Dest != "" {
		if !protocol.ValidLiteral(m.Dest) {
			v.add("msg_trace.dest", "%q is not a subject a message can be published to", m.Dest)
		}
	}
	if m.Sampling < 1 || m.Sampling > 100 {
		v.add("msg_trace.sampling", "%d is not a percentage from 1 to 100", m.Sampling)
	}
}
