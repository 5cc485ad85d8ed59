package protocol

// Tracer is a message being traced, as nats-server 2.11+ traces one that
// carries Nats-Trace-Dest: each server it crosses sends the destination
// one event listing what it did with the message. The broker hands it to
// in-process subscribers in Msg.Trace; one that stores the message (a
// stream) records that with JetStream, and one that finishes the work
// later calls Hold first and Done when it is finished, so the event goes
// out whole. A subscriber that ignores it changes nothing.
type Tracer interface {
	// Only reports whether the message is traced without being delivered
	// or stored (Nats-Trace-Only).
	Only() bool
	// JetStream records that a stream took the message: its name, the
	// subject stored, whether no consumer wanted it, and the error that
	// kept it from being stored ("" when it was stored).
	JetStream(stream, subject string, noInterest bool, err string)
	// Hold keeps the event from being sent until a matching Done.
	Hold()
	Done()
}
