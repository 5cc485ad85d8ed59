package jetstore

import (
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Server-wide limits, named as nats-server names them. In Config, 0 picks
// the default below and a negative value lifts the limit.
const (
	// defaultMaxAckPendingLimit bounds max_ack_pending: each pending
	// delivery costs the consumer memory until it is acked.
	defaultMaxAckPendingLimit = 100_000
	// defaultMaxInactiveThreshold bounds inactive_threshold: a consumer
	// nobody uses is kept that long at most.
	defaultMaxInactiveThreshold = 7 * 24 * time.Hour
	// defaultMaxDuplicateWindow bounds duplicate_window: every id in the
	// window is held in memory.
	defaultMaxDuplicateWindow = 24 * time.Hour
	// defaultMaxRequestSize bounds a JetStream API request body.
	defaultMaxRequestSize = 256 << 10
	// memoryShare and diskShare are the shares of the machine's memory
	// and of the store's free disk that streams may take by default.
	memoryShareNum, memoryShareDen = 1, 4
	diskShareNum, diskShareDen     = 3, 4
	// fallbackMemory is assumed when the machine's memory is unknown.
	fallbackMemory = 256 << 20
)

// limits are the stream layer's resolved limits; 0 is no limit.
type limits struct {
	maxMemory, maxFile   int64
	maxStreams           int
	maxConsumers         int
	maxAckPending        int
	maxInactiveThreshold time.Duration
	maxDuplicateWindow   time.Duration
	maxRequestSize       int
	// requestQueue and infoQueue bound the requests waiting in the
	// general and the info lane of the API pool.
	requestQueue, infoQueue int
}

// resolveLimits turns cfg's limits into the ones in force: defaults for
// zeros, none for negatives. The disk default is a share of the space
// free on the store's file system now, plus what file streams already
// hold there (they count against it).
func resolveLimits(cfg Config, dir string) limits {
	pick := func(v, def int64) int64 {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return def
		}
		return v
	}
	l := limits{
		maxStreams:   max(cfg.MaxStreams, 0),
		maxConsumers: max(cfg.MaxConsumers, 0),
	}
	if cfg.MaxMemory == 0 {
		mem := systemMemory()
		if mem <= 0 {
			mem = fallbackMemory
		}
		l.maxMemory = mem / memoryShareDen * memoryShareNum
	} else {
		l.maxMemory = pick(cfg.MaxMemory, 0)
	}
	if cfg.MaxStorage == 0 {
		if free := diskFree(dir); free > 0 {
			l.maxFile = free/diskShareDen*diskShareNum + dirBytes(dir)
		}
	} else {
		l.maxFile = pick(cfg.MaxStorage, 0)
	}
	l.maxAckPending = int(pick(int64(cfg.MaxAckPending), defaultMaxAckPendingLimit))
	l.maxInactiveThreshold = time.Duration(pick(int64(cfg.MaxInactiveThreshold), int64(defaultMaxInactiveThreshold)))
	l.maxDuplicateWindow = time.Duration(pick(int64(cfg.MaxDuplicateWindow), int64(defaultMaxDuplicateWindow)))
	l.maxRequestSize = int(pick(int64(cfg.MaxRequestSize), defaultMaxRequestSize))
	l.requestQueue = cfg.RequestQueueLimit
	if l.requestQueue <= 0 {
		l.requestQueue = defaultRequestQueueLimit
	}
	l.infoQueue = cfg.InfoQueueLimit
	if l.infoQueue <= 0 {
		l.infoQueue = l.requestQueue
	}
	return l
}

// limitFor returns the limit on the bytes streams of a storage type may
// hold together, 0 for none.
func (l *limits) limitFor(storage string) int64 {
	if storage == StorageMemory {
		return l.maxMemory
	}
	return l.maxFile
}

// errResourcesFor is the refusal for storage of a type running out.
func errResourcesFor(storage string) *APIError {
	if storage == StorageMemory {
		return errMemoryExceeded()
	}
	return errStorageExceeded()
}

// checkStreamLimits checks a stream configuration against the server's
// limits: its duplicate window, and its max_bytes against what the other
// streams of its storage type leave (a stream with max_bytes reserves
// that much; one without counts what it holds). name is the stream being
// created or updated; js.mu is held.
func (js *JetStream) checkStreamLimits(name string, cfg StreamConfig) *APIError {
	if w := js.lim.maxDuplicateWindow; w > 0 && cfg.Duplicates > w {
		return errStreamConfig("duplicates window can not be larger then server limit of %v", w)
	}
	limit := js.lim.limitFor(cfg.Storage)
	if limit <= 0 || cfg.MaxBytes <= 0 {
		return nil
	}
	var used int64
	for other, st := range js.streams {
		if other == name {
			continue
		}
		ocfg := st.cfg()
		if ocfg.Storage != cfg.Storage {
			continue
		}
		if ocfg.MaxBytes > 0 {
			used += ocfg.MaxBytes
		} else {
			used += int64(st.store.State().Bytes)
		}
	}
	if cfg.MaxBytes > limit-used {
		return errResourcesFor(cfg.Storage)
	}
	return nil
}

// checkConsumerLimits checks a new or updated consumer configuration
// against the server's limits.
func (js *JetStream) checkConsumerLimits(cfg ConsumerConfig) *APIError {
	if l := js.lim.maxInactiveThreshold; l > 0 && cfg.InactiveThreshold > l {
		return errInactiveExcess(l)
	}
	if l := js.lim.maxAckPending; l > 0 && cfg.MaxAckPending > l {
		return errAckPendingExcess(l)
	}
	return nil
}

// consumerCount returns how many consumers all streams have.
func (js *JetStream) consumerCount() int {
	n := 0
	for _, st := range js.sortedStreams() {
		n += st.numConsumers()
	}
	return n
}

// usage caches the bytes each storage type holds across streams, so that
// a publish far from the limit does not sum every stream's state.
type usage struct {
	mu    sync.Mutex
	at    time.Time
	bytes map[string]uint64
}

// usageFresh is how old the cached sum may be.
const usageFresh = 100 * time.Millisecond

// storageUsedFor returns the bytes streams of the storage type hold,
// before a batch of at most adding bytes is stored. Near the limit
// (within a tenth of it) it sums them afresh; elsewhere the cached sum,
// which counts every batch as stored whole, so it never falls behind.
func (js *JetStream) storageUsedFor(storage string, adding uint64) uint64 {
	limit := uint64(js.lim.limitFor(storage))
	js.use.mu.Lock()
	defer js.use.mu.Unlock()
	n, ok := js.use.bytes[storage]
	if !ok || time.Since(js.use.at) >= usageFresh || n+adding >= limit-limit/10 {
		sums := map[string]uint64{}
		for _, st := range js.sortedStreams() {
			sums[st.cfg().Storage] += st.store.State().Bytes
		}
		js.use.bytes, js.use.at = sums, time.Now()
		n = sums[storage]
	}
	js.use.bytes[storage] = n + adding
	return n
}

// dirBytes returns the bytes the regular files under dir take.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// batchBytes returns what msgs would add to a stream at most.
func batchBytes(msgs []*protocol.Msg) uint64 {
	var n uint64
	for _, m := range msgs {
		n += uint64(len(m.Subject) + len(m.Header) + len(m.Data))
	}
	return n
}

// logShare is the share of the file descriptor limit that stream logs may
// hold open at once; the rest serves clients, consumer state and
// monitoring. Idle logs past it are closed and reopened on use.
const logShareDen = 4

// setLogBudget bounds the open stream logs by the descriptor limit.
func setLogBudget() {
	if n := fdLimit(); n > 0 {
		store.SetOpenLogBudget(max(n/logShareDen, 16))
	}
	setStateFileBudget()
}
