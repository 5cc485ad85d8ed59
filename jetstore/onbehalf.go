package jetstore

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/wrenmq/wren/protocol"
)

// Acting for a client. The broker tells the stream layer who published a
// message (protocol.Msg.Sender, nil when the server itself did) and itself
// refuses a client's request whose reply subject the server may not
// publish to for it; the stream layer asks the sender for the other
// subjects it publishes to on the client's behalf: a push consumer's
// deliver subject and where a dead-letter replay sends its messages.

// hdrRequestInfo is what nats-server puts on a request it imports from
// another account; only a server sets it.
const hdrRequestInfo = "Nats-Request-Info"

// deliverSubjectDenied answers a consumer create or update request whose
// push deliver subject its sender may not have the server publish to, and
// reports whether it did.
func (js *JetStream) deliverSubjectDenied(m *protocol.Msg) bool {
	if m.Sender == nil {
		return false
	}
	var req struct {
		Config *struct {
			DeliverSubject string `json:"deliver_subject"`
		} `json:"config"`
	}
	if json.Unmarshal(m.Data, &req) != nil || req.Config == nil {
		return false // the create itself reports a bad request
	}
	ds := req.Config.DeliverSubject
	if ds == "" || !protocol.ValidLiteral(ds) || m.Sender.MayPublish(ds) {
		return false
	}
	js.fail(string(m.Reply), errConsumerConfig("permissions violation for publish to deliver subject %s", strconv.Quote(ds)))
	return true
}

// clientHeader removes from the header block of a message a client
// published into a stream what only a server may put there: an inline
// status ("NATS/1.0 503"), which would make the stored message read as a
// status message when delivered, and Nats-Request-Info, as nats-server
// removes both from what a stream stores; and Wren's Wren-DLQ-* fields,
// which mark a dead letter and say where a replay sends it. Everything else
// is kept, in order. It returns hdr itself when there is nothing to remove,
// and nil when no field is left once a field was removed.
func clientHeader(hdr []byte) []byte {
	if len(hdr) == 0 {
		return hdr
	}
	const version = "NATS/1.0"
	if end := bytes.IndexAny(hdr, "\r\n"); end > len(version) && string(hdr[:len(version)]) == version {
		// What follows the version on the first line is a status.
		hdr = append([]byte(version), hdr[end:]...)
	}
	strip, kept := false, 0
	protocol.HeaderFields(hdr, func(k, _ []byte) bool {
		if serverOnlyField(k) {
			strip = true
		} else {
			kept++
		}
		return true
	})
	if !strip {
		return hdr
	}
	if kept == 0 {
		return nil
	}
	out := protocol.AppendHeaderStart(make([]byte, 0, len(hdr)), 0, "")
	protocol.HeaderFields(hdr, func(k, v []byte) bool {
		if !serverOnlyField(k) {
			out = protocol.AppendHeaderField(out, string(k), string(v))
		}
		return true
	})
	return protocol.AppendHeaderEnd(out)
}

func serverOnlyField(k []byte) bool {
	return asciiHasPrefixFold(k, "Wren-DLQ-") || (len(k) == len(hdrRequestInfo) && asciiHasPrefixFold(k, hdrRequestInfo))
}
