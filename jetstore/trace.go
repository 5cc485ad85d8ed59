package jetstore

import (
	"bytes"

	"github.com/wrenmq/wren/protocol"
)

// traceDisabled returns a stored copy's header with Nats-Trace-Dest set to
// "trace disabled" (not a subject), as nats-server stores a traced
// message: its later deliveries to consumers are not traced again.
func traceDisabled(hdr []byte) []byte {
	if !bytes.Contains(hdr, []byte("Nats-Trace-Dest")) {
		return hdr
	}
	status, desc := protocol.HeaderStatus(hdr)
	out := protocol.AppendHeaderStart(nil, status, desc)
	protocol.HeaderFields(hdr, func(k, v []byte) bool {
		if string(k) == "Nats-Trace-Dest" {
			v = []byte("trace disabled")
		}
		out = protocol.AppendHeaderField(out, string(k), string(v))
		return true
	})
	return protocol.AppendHeaderEnd(out)
}
