package jetstore

import "github.com/wrenmq/wren/protocol"

// Bus is what the stream layer needs from a message broker: subscribe with
// a handler and publish. The broker's in-process connection satisfies it.
//
// Handlers run on the publisher's goroutine and the message's slices are
// valid only during the call, so the stream layer copies what it keeps and
// hands slow work (disk, API requests) to its own goroutines.
//
// A message's Sender is the client that published it, nil when the server
// did: the stream layer asks it before publishing where that client named
// (a deliver subject, a dead-letter replay's subjects), treats a client's
// Wren-DLQ-* headers as untrusted, and expects the broker to refuse a
// client's message whose reply subject the client could not reach itself.
type Bus interface {
	Subscribe(subject, queue string, h func(m *protocol.Msg)) (unsubscribe func(), err error)
	Publish(subject, reply string, header, data []byte) error
}

// batchPublisher is implemented by buses that can hold back wake-ups until
// a burst of publishes is done; the stream layer uses it for the PubAcks of
// one group commit.
type batchPublisher interface {
	PublishBatch(fn func(publish func(subject, reply string, header, data []byte) error))
}

// publishAll sends a burst of messages through bus, batched when it can.
func publishAll(bus Bus, fn func(publish func(subject, reply string, header, data []byte) error)) {
	if bp, ok := bus.(batchPublisher); ok {
		bp.PublishBatch(fn)
		return
	}
	fn(bus.Publish)
}

// deliverer is what a Bus may add to deliver stored messages as JetStream
// does: to the subscribers of route (an inbox, a deliver subject), showing
// the subject the message was published to. Without it a delivery shows
// its route.
type deliverer interface {
	PublishAs(route, subject, reply string, header, data []byte) error
}

// deliverMsg hands a stored message to the subscribers of route.
func (js *JetStream) deliverMsg(route, subject, reply string, header, data []byte) {
	if d, ok := js.bus.(deliverer); ok {
		d.PublishAs(route, subject, reply, header, data)
		return
	}
	js.bus.Publish(route, reply, header, data)
}

// interestChecker is what a Bus may add to say whether anyone listens on a
// subject. Push consumers then deliver only while their deliver subject has
// a subscriber, as JetStream does; without it they deliver regardless.
type interestChecker interface {
	HasInterest(subject string) bool
}

// hasInterest reports whether subject has a subscriber, or true when the
// bus cannot tell.
func (js *JetStream) hasInterest(subject string) bool {
	if ic, ok := js.bus.(interestChecker); ok {
		return ic.HasInterest(subject)
	}
	return true
}
