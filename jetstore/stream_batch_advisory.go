package jetstore

import (
	"encoding/json"
	"time"
)

// An atomic batch that is opened and then ended without its commit is
// advised as nats-server advises it: a message on
// $JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.<stream> saying which batch
// and why, so that an operator watching `nats events` or a publisher's
// supervisor sees a gateway's upload that never landed. A message refused
// before any batch was open (no such batch, a bad id) opens none and is
// not advised; its publisher has the error.
const (
	batchAbandonedPrefix = "$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED."
	typeBatchAbandoned   = "io.nats.jetstream.advisory.v1.stream_batch_abandoned"
)

// Why a batch was abandoned, in nats-server's words.
const (
	batchTimeout     = "timeout"     // idle for atomicBatchIdle
	batchLarge       = "large"       // over the message or byte limit
	batchIncomplete  = "incomplete"  // a gap, a bad commit, a refused message
	batchUnsupported = "unsupported" // the stream no longer allows atomic publish
)

type batchAbandonedAdvisory struct {
	Type   string    `json:"type"`
	ID     string    `json:"id"`
	Time   time.Time `json:"timestamp"`
	Stream string    `json:"stream"`
	Batch  string    `json:"batch"`
	Reason string    `json:"reason"`
}

// adviseAbandoned publishes the advisory of batch id. Writer goroutine.
func (st *stream) adviseAbandoned(id, reason string) {
	b, err := json.Marshal(&batchAbandonedAdvisory{
		Type: typeBatchAbandoned, ID: newID(), Time: time.Now().UTC(),
		Stream: st.name, Batch: id, Reason: reason,
	})
	if err != nil {
		return
	}
	st.js.bus.Publish(batchAbandonedPrefix+st.name, "", nil, b)
}
