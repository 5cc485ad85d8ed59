package jetstore

import "sync"

// removalQueue holds the sequences a work-queue stream must drop because
// their consumer acked them (or dead-lettered them), or that an interest
// stream must drop unless another consumer still holds them
// (stream_interest.go). Consumers add to it without waiting; the
// stream's writer goroutine drains it.
type removalQueue struct {
	mu   sync.Mutex
	seqs []uint64
	// rescan, when not 0, is where an interest stream looks again at
	// every message on (requestRescan).
	rescan uint64
	signal chan struct{}
}

// queueRemoval asks the writer to delete seqs from the stream.
func (st *stream) queueRemoval(seqs []uint64) {
	st.rm.mu.Lock()
	st.rm.seqs = append(st.rm.seqs, seqs...)
	st.rm.mu.Unlock()
	select {
	case st.rm.signal <- struct{}{}:
	default:
	}
}

// drainRemovals deletes the queued sequences. Writer goroutine.
func (st *stream) drainRemovals() {
	st.rm.mu.Lock()
	seqs := st.rm.seqs
	st.rm.seqs = nil
	st.rm.mu.Unlock()
	if st.config.Retention == RetentionInterest {
		st.drainInterest(seqs)
		return
	}
	if len(seqs) == 0 {
		return
	}
	if _, err := st.deleteSeqs(seqs); err != nil {
		if st.fault == nil {
			st.js.log.Error("remove acked work-queue messages", "stream", st.name, "error", err)
			return
		}
		// The store takes no writes: keep them for the writer's tick to
		// retry once it does (deleteSeqs skips those already gone).
		st.rm.mu.Lock()
		st.rm.seqs = append(seqs, st.rm.seqs...)
		st.rm.mu.Unlock()
	}
}
