package jetstore

import "github.com/wrenmq/wren/protocol"

// Bus is what the stream layer needs from a message broker: subscribe with
// a handler and publish. The broker's in-process connection satisfies it.
//
// Handlers run on the publisher's goroutine and the message's slices are
// valid only during the call, so the stream layer copies what it keeps and
// hands slow work (disk, API requests) to its own goroutines.
type Bus interface {
	Subscribe(subject, queue string, h func(m *protocol.Msg)) (unsubscribe func(), err error)
	Publish(subject, reply string, header, data []byte) error
}
