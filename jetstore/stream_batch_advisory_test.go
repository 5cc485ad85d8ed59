package jetstore

import (
	"encoding/json"
	"testing"
	"time"
)

// A batch that went idle is advised as abandoned by timeout, and one left
// open when the stream stops allowing atomic publish as unsupported.
func TestAtomicBatchAbandonedOnExpiry(t *testing.T) {
	e, st := newBatchEnv(t)
	e.bus.Publish("s.x", "_INBOX.idle", batchHeader("idle", 1, ""), []byte("m"))
	e.bus.waitFor(t, "_INBOX.idle", 1)
	st.do(func() { st.expireAtomic(time.Now().Add(atomicBatchIdle + time.Second)) })
	checkAbandoned(t, e.bus.waitFor(t, batchAbandonedPrefix+"S", 1)[0].Data, "idle", batchTimeout)

	e.bus.Publish("s.x", "_INBOX.off", batchHeader("off", 1, ""), []byte("m"))
	e.bus.waitFor(t, "_INBOX.off", 1)
	e.mustOK(t, "STREAM.UPDATE.S", `{"name":"S","subjects":["s.>"],"allow_atomic":false}`)
	st.do(func() { st.expireAtomic(time.Now()) })
	checkAbandoned(t, e.bus.waitFor(t, batchAbandonedPrefix+"S", 2)[1].Data, "off", batchUnsupported)
	e.log.check(t)
}

func checkAbandoned(t *testing.T, data []byte, batch, reason string) {
	t.Helper()
	var a batchAbandonedAdvisory
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("advisory %s: %v", data, err)
	}
	if a.Type != typeBatchAbandoned || a.ID == "" || a.Time.IsZero() || a.Stream != "S" || a.Batch != batch || a.Reason != reason {
		t.Fatalf("advisory %s; want batch %q, reason %q", data, batch, reason)
	}
}
