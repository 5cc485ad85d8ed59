package jetstore

import "github.com/wrenmq/wren/protocol"

// Bus is what the stream layer needs from a message broker. The broker's
// in-process connection satisfies it (cmd/wren asserts so when it
// compiles); the stream layer's own tests use a fake with the same
// delivery semantics (bus_fake_test.go).
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
	// Subscribe delivers messages on subject (a filter) to h; with a
	// queue name, one member of the group gets each message. It returns a
	// function that ends the subscription.
	Subscribe(subject, queue string, h func(m *protocol.Msg)) (unsubscribe func(), err error)

	// Publish sends a message as any client would; header is a NATS/1.0
	// header block or nil. The bytes are copied before it returns.
	Publish(subject, reply string, header, data []byte) error

	BatchPublisher
	Deliverer
	InterestChecker
}

// BatchPublisher holds back wake-ups until a burst of publishes is done:
// PublishBatch runs fn with a publish function that queues messages as
// Publish does and wakes each receiving connection's writer once, when fn
// returns. The stream layer sends the PubAcks of one group commit this
// way.
type BatchPublisher interface {
	PublishBatch(fn func(publish func(subject, reply string, header, data []byte) error))
}

// Deliverer delivers stored messages as JetStream does: PublishAs hands a
// message to the subscribers of route (a pull request's inbox, a push
// consumer's deliver subject), showing the subject it was published to.
type Deliverer interface {
	PublishAs(route, subject, reply string, header, data []byte) error
}

// BatchDeliverer is offered by a broker that can hold back wake-ups
// across a run of deliveries: DeliverBatch runs fn with a deliver function
// that does what PublishAs does, and wakes each receiving connection's
// writer once, when fn returns (or once enough bytes are queued). A
// consumer hands out one round of deliveries this way, so the messages of
// a Fetch leave in one socket write. Without it, PublishAs is used.
type BatchDeliverer interface {
	DeliverBatch(fn func(deliver func(route, subject, reply string, header, data []byte) error))
}

// NowDeliverer is offered by a broker that can write a batch's deliveries
// to the receivers' sockets at once: DeliverBatchNow is DeliverBatch for a
// caller on a client's read loop, where a short queue is written by the
// caller instead of waking the receiver's writer. A consumer's round at
// the end of a read buffer (consumer_inline.go) delivers this way.
type NowDeliverer interface {
	DeliverBatchNow(fn func(deliver func(route, subject, reply string, header, data []byte) error))
}

// TracingSubscriber is offered by a broker that traces messages
// (Nats-Trace-Dest): SubscribeTraced is Subscribe for a subscriber that
// reads Msg.Trace, so it is handed trace-only messages to report on
// rather than act on. Streams subscribe this way when the bus offers it.
type TracingSubscriber interface {
	SubscribeTraced(subject, queue string, h func(m *protocol.Msg)) (unsubscribe func(), err error)
}

// InterestChecker says whether anyone listens on a subject: HasInterest
// reports whether a subscription matches the literal subject. Push
// consumers deliver only while their deliver subject has a subscriber,
// pull requests are dropped once their inbox has none, as JetStream does.
type InterestChecker interface {
	HasInterest(subject string) bool
}
