package server

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Sharing payloads with the read buffer. A message of shareMin bytes or
// more that a read loop delivers to a plain TCP subscriber is not copied
// into the subscriber's queue: the queue gets the MSG line and a slice of
// the read buffer, and the writev that sends it takes the payload straight
// from there, so between the two sockets only the kernel copies it. The
// read buffer is then held until every queue that shares it has written
// it, and the read loop reads into another one from a pool meanwhile; the
// last to let go of a buffer returns it to the pool.
//
// Below shareMin copying is cheaper: each shared payload costs the kernel
// one more iovec to walk, and at 1 KiB that costs as much as the copy it
// saves (measured on loopback: 490 ns of CPU per message shared vs 450
// copied at 1 KiB, even at 4 KiB, 3.1 vs 3.6 µs at 8 KiB, 6.5 vs 7.6 µs at
// 16 KiB), while the buffers held in turn are colder in the cache than the
// one buffer a copying read loop reads into again and again.
//
// A subscriber that falls behind must not hold a publisher's buffers
// unbounded: a queue holds at most maxPins read buffers it has not started
// writing, and only while what it queued is at least a quarter of their
// size (a subscriber that gets a few messages of a busy publisher copies
// them instead of holding whole buffers for them). Past that it copies, as
// every queue did before, and its bytes count against the stall threshold
// and max_pending either way. Its write loop holds at most as many more
// while it writes.
const (
	shareMin = 8 << 10
	maxPins  = 4
)

// readBuf is a read loop's buffer. refs counts its holders: the read loop
// while it reads into it, and each queue sharing payloads in it.
type readBuf struct {
	b    []byte
	refs atomic.Int32
}

// readBufPools pool the read buffers by size: minReadBuf << i, up to
// maxReadBuf.
var readBufPools [10]sync.Pool

func poolOf(n int) *sync.Pool { return &readBufPools[bits.Len(uint(n/minReadBuf))-1] }

// getReadBuf returns a buffer of n bytes, a power of two from minReadBuf to
// maxReadBuf, held by the caller.
func getReadBuf(n int) *readBuf {
	rb, _ := poolOf(n).Get().(*readBuf)
	if rb == nil {
		rb = &readBuf{b: make([]byte, n)}
	}
	rb.refs.Store(1)
	return rb
}

// unpin drops one hold on the buffer; the last returns it to its pool.
func (rb *readBuf) unpin() {
	if rb.refs.Add(-1) == 0 {
		poolOf(len(rb.b)).Put(rb)
	}
}

// holds reports whether b lies wholly within the read buffer.
func (rb *readBuf) holds(b []byte) bool {
	if len(b) == 0 || len(rb.b) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(rb.b)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= base && p+uintptr(len(b)) <= base+uintptr(len(rb.b))
}

// body returns header and payload as the one slice of the read buffer they
// are parsed from, or nil when they are not both in it, back to back.
func (rb *readBuf) body(header, payload []byte) []byte {
	if len(header) == 0 {
		if !rb.holds(payload) {
			return nil
		}
		return payload
	}
	if !rb.holds(header) {
		return nil
	}
	if len(payload) > 0 {
		end := unsafe.Add(unsafe.Pointer(unsafe.SliceData(header)), len(header))
		if unsafe.Pointer(unsafe.SliceData(payload)) != end || !rb.holds(payload) {
			return nil
		}
	}
	return unsafe.Slice(unsafe.SliceData(header), len(header)+len(payload))
}

// next returns the buffer to read into after cur: cur itself unless a
// queue shares it, else one from the pool. Read loop only.
func next(cur *readBuf) *readBuf {
	if cur.refs.Load() == 1 {
		return cur
	}
	n := len(cur.b)
	cur.unpin()
	return getReadBuf(n)
}

// resize lets cur go for a buffer of n bytes, when traffic grew or shrank.
func resize(cur *readBuf, n int) *readBuf {
	cur.unpin()
	return getReadBuf(n)
}
