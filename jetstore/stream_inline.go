package jetstore

import (
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Inline commit. A client publishing one message at a time and waiting
// for each PubAck would otherwise cost two goroutine hand-offs per
// publish: its read loop wakes the stream's writer, which stores the
// message and answers. Instead a publish from a client's socket is queued
// without waking the writer (a deferred push) and the stream asks the
// broker to call it back once the read buffer is handled
// (protocol.ReadEnds). Then, if that read drained the socket and nobody
// holds the writer role, the read loop takes the role and stores what is
// queued itself, exactly as the writer would (drainIngest: admission,
// one Append with its fsync, then the PubAcks); otherwise it wakes the
// writer.
//
// Group commit stays: one inline commit stores everything the read
// buffer brought, and everything other connections queued meanwhile; a
// publisher streaming faster than the disk syncs finds its reads full or
// the role taken, and the writer stores for it as before, in parallel
// with its parsing. Ordering, deduplication, limits, atomic batches and
// the refusal of writes after a store failure are those of drainIngest,
// which both paths run under the role.

// deferMax is how many queued messages a deferred push lets wait for the
// end of the read buffer before it wakes the writer after all.
const deferMax = 64

// inlineMax is the most queued messages a read loop stores itself: more
// come from a publisher with many in flight, which gains nothing from a
// quicker answer, and the writer stores them while the read loop parses
// on.
const inlineMax = 16

// inlineSyncMax is the slowest fsync a read loop waits for itself. The
// hand-off it saves costs tens of microseconds; behind a disk whose fsync
// takes milliseconds (an SD card, a busy disk) that gain is nothing, while
// the connection's next bytes (its core traffic, its other requests) would
// wait for the fsync. So when the latest fsync took longer, the writer
// stores, and the connection reads on.
const inlineSyncMax = 2 * time.Millisecond

// deferToReadEnd reports whether m's publisher will call the stream back
// at the end of its read buffer (ReadEnd), so the push need not wake the
// writer.
func (st *stream) deferToReadEnd(m *protocol.Msg) bool {
	re, ok := m.Sender.(protocol.ReadEnds)
	return ok && re.AtReadEnd(st)
}

// ReadEnd implements protocol.ReadEndHook: the publisher's read buffer is
// handled; store what it queued, here if the read drained the socket and
// the writer role is free, else on the writer.
func (st *stream) ReadEnd(drained bool) {
	if !drained || st.in.len() > inlineMax || store.LastFsync() > inlineSyncMax || !st.wmu.TryLock() {
		st.in.wake()
		return
	}
	if !st.exited {
		st.drainIngest()
	}
	st.wmu.Unlock()
}
