package protocol

// ReadEnds is offered by a Sender whose messages arrive in read buffers (a
// client's socket): an in-process subscriber that queued a message for
// work of its own may ask to be called back once the broker has handled
// the whole read buffer the message came in, instead of waking a goroutine
// for each message. A stream then stores everything one read brought with
// one write and one fsync, on the reader's goroutine when nothing else is
// storing, and answers the publisher without a goroutine hand-off.
type ReadEnds interface {
	// AtReadEnd asks for h.ReadEnd to be called once, on the goroutine
	// that delivered the message, after every message of the current read
	// buffer has been delivered and what they queued for other
	// connections has been flushed; asking again for the same h within
	// one read buffer changes nothing. It reports false, calling nothing
	// later, when the sender cannot promise that (then the subscriber
	// wakes its own goroutine as it would without it). It is only to be
	// called from the handler the message was delivered to.
	AtReadEnd(h ReadEndHook) bool
}

// ReadEndHook is called at the end of a read buffer (see ReadEnds).
type ReadEndHook interface {
	// ReadEnd runs on the reader's goroutine. drained reports that the
	// read took everything the socket held, so the reader would wait for
	// the peer next: slow work done now (a disk write) holds up no later
	// bytes of this connection. When drained is false more bytes are
	// already waiting and the hook should hand its work to another
	// goroutine rather than do it here.
	ReadEnd(drained bool)
}
