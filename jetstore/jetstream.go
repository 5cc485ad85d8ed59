package jetstore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// SyncPolicy says when stream writes are fsynced: the store's policy, named
// here so that configuring the stream layer needs no other package.
type SyncPolicy = store.SyncPolicy

// The sync policies; see store.SyncAlways, store.SyncInterval and
// store.SyncNever for what each promises.
const (
	SyncAlways   = store.SyncAlways
	SyncInterval = store.SyncInterval
	SyncNever    = store.SyncNever
)

// Config configures the stream layer.
type Config struct {
	// StoreDir holds every stream's files. Required.
	StoreDir string
	// Domain, when set, also serves the API as $JS.<Domain>.API.> (for
	// clients across a leaf link; domain.go).
	Domain string
	// Sync is when stream writes are fsynced; the default, SyncAlways,
	// sends a PubAck only once its message is on disk.
	Sync SyncPolicy
	// SyncEvery is the period for SyncInterval.
	SyncEvery time.Duration
	// MaxMemory bounds the bytes all memory streams may hold; 0 is a
	// quarter of the machine's memory, negative no limit.
	MaxMemory int64
	// MaxStorage bounds the bytes all file streams may hold; 0 is three
	// quarters of the space free on the store's file system at start
	// (plus what streams hold there already), negative no limit.
	MaxStorage int64
	// MaxStreams bounds the number of streams; 0 is no limit.
	MaxStreams int
	// MaxConsumers bounds the consumers of all streams together; 0 is no
	// limit. A stream's own max_consumers bounds its consumers.
	MaxConsumers int
	// MaxAckPending is the largest max_ack_pending a consumer may have;
	// 0 is 100,000, negative no limit.
	MaxAckPending int
	// MaxInactiveThreshold is the longest inactive_threshold a consumer
	// may have; 0 is 7 days, negative no limit.
	MaxInactiveThreshold time.Duration
	// MaxDuplicateWindow is the longest duplicate_window a stream may
	// have; 0 is 24 hours, negative no limit.
	MaxDuplicateWindow time.Duration
	// MaxRequestSize bounds the body of a JetStream API request; a larger
	// one is refused with a 400. 0 is 256 KiB, negative no limit beyond
	// the broker's max_payload.
	MaxRequestSize int
	// RequestQueueLimit bounds the API requests waiting for a worker (as
	// nats-server's jetstream.request_queue_limit); one beyond it is
	// answered 503 (10008) at once and counted in an api_limit_reached
	// advisory. 0 is 4,096.
	RequestQueueLimit int
	// InfoQueueLimit bounds the info, names and list requests waiting
	// for the workers of their own (nats-server's info_queue_limit).
	// 0 is RequestQueueLimit.
	InfoQueueLimit int
	// Logger receives the stream layer's logs; nil discards them.
	Logger *slog.Logger
}

// JetStream is the stream layer: it owns the streams, serves the JetStream
// API on the bus, and stores what is published to stream subjects.
type JetStream struct {
	cfg Config
	lim limits
	use usage
	bus Bus
	log *slog.Logger
	dir string

	// mu guards streams and closed. Stream creation holds it across its
	// fsyncs, so the hot paths (acks, publishes, lookups by name) read
	// view instead: an immutable copy of streams, replaced whenever it
	// changes.
	mu      sync.RWMutex
	streams map[string]*stream
	closed  bool
	view    atomic.Pointer[map[string]*stream]

	api      *apiLane // general requests
	apiInfo  *apiLane // read-only requests: info, names, lists
	apiUnsub func()

	consumerUnsubs []func()
	replayQ        chan *protocol.Msg
	quit           chan struct{}
	wg             sync.WaitGroup

	apiTotal, apiErrors atomic.Uint64
	drops               apiDrops // requests refused by a full queue (api_limit.go)
	// atomicOpen counts the atomic batches being staged in all streams.
	atomicOpen atomic.Int64

	// consumerMu serialises consumer creation while a server-wide
	// consumer limit is set.
	consumerMu sync.Mutex

	brokenMu sync.Mutex
	broken   []BrokenStream // set aside at start
}

// Open opens (or creates) the store directory, restores every stream in it
// and starts serving the JetStream API on bus.
func Open(bus Bus, cfg Config) (*JetStream, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("jetstore: a store directory is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(cfg.StoreDir, "jetstream", "streams")
	if err := store.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("jetstore: create store directory: %w", err)
	}
	js := &JetStream{
		cfg:     cfg,
		bus:     bus,
		log:     cfg.Logger,
		dir:     dir,
		streams: make(map[string]*stream),
		quit:    make(chan struct{}),
	}
	js.lim = resolveLimits(cfg, dir)
	setLogBudget()
	js.api = newAPILane(apiWorkers(), js.lim.requestQueue, js.serveAPI)
	js.apiInfo = newAPILane(apiInfoWorkers, js.lim.infoQueue, js.serveAPI)
	fail := func(err error) (*JetStream, error) {
		close(js.quit)
		js.wg.Wait()
		js.closeStreams()
		return nil, err
	}
	if err := js.prepareDirs(); err != nil {
		return fail(err)
	}
	if err := js.restore(); err != nil {
		return fail(err)
	}
	unsub, err := bus.Subscribe(apiPrefix+">", "", js.onAPI)
	if err != nil {
		return fail(fmt.Errorf("jetstore: subscribe to the API: %w", err))
	}
	js.apiUnsub = unsub
	if cfg.Domain != "" {
		dunsub, err := js.subscribeDomain(cfg.Domain)
		if err != nil {
			unsub()
			return fail(err)
		}
		js.apiUnsub = func() { unsub(); dunsub() }
	}
	if err := js.startConsumerLayer(); err != nil {
		unsub()
		return fail(fmt.Errorf("jetstore: subscribe to acks: %w", err))
	}
	js.log.Info("stream layer ready", "dir", cfg.StoreDir, "streams", len(js.streams), "sync", cfg.Sync.String())
	return js, nil
}

// restore opens every stream found in the store directory. A stream
// that cannot be opened or started is set aside (setAside) and the others
// are served.
func (js *JetStream) restore() error {
	entries, err := os.ReadDir(js.dir)
	if err != nil {
		return fmt.Errorf("jetstore: read store directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(js.dir, e.Name())
		st, err := openStreamSafe(js, dir)
		if err != nil && outOfResources(err) {
			// Not the stream's fault: set nothing aside.
			return fmt.Errorf("jetstore: restore stream %q: %w", e.Name(), err)
		}
		if err != nil {
			js.setAside(e.Name(), dir, err)
			continue
		}
		js.streams[st.name] = st
	}
	js.publishStreams()
	for name, st := range js.streams {
		if err := st.start(); err != nil {
			st.close()
			delete(js.streams, name)
			js.setAside(name, st.dir, fmt.Errorf("start: %w", err))
		}
	}
	js.publishStreams()
	return nil
}

// Close stops the API, then flushes and closes every stream.
func (js *JetStream) Close() error {
	js.mu.Lock()
	if js.closed {
		js.mu.Unlock()
		return nil
	}
	js.closed = true
	js.mu.Unlock()
	if js.apiUnsub != nil {
		js.apiUnsub()
	}
	js.api.close()
	js.apiInfo.close()
	js.stopConsumerLayer()
	close(js.quit)
	js.wg.Wait()
	return js.closeStreams()
}

func (js *JetStream) closeStreams() error {
	js.mu.Lock()
	streams := make([]*stream, 0, len(js.streams))
	for _, st := range js.streams {
		streams = append(streams, st)
	}
	js.mu.Unlock()
	var first error
	for _, st := range streams {
		if err := st.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// publishStreams replaces view with a copy of streams. js.mu is held, or
// nothing else runs yet.
func (js *JetStream) publishStreams() {
	m := make(map[string]*stream, len(js.streams))
	for name, st := range js.streams {
		m[name] = st
	}
	js.view.Store(&m)
}

// lookup returns the named stream, or nil. It takes no lock.
func (js *JetStream) lookup(name string) *stream {
	if m := js.view.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

// sortedStreams returns the streams in name order. It takes no lock.
func (js *JetStream) sortedStreams() []*stream {
	var list []*stream
	if m := js.view.Load(); m != nil {
		list = make([]*stream, 0, len(*m))
		for _, st := range *m {
			list = append(list, st)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// Stats is a snapshot of the stream layer for monitoring.
type Stats struct {
	Streams   int
	Consumers int
	Messages  uint64
	Bytes     uint64
	APITotal  uint64
	APIErrors uint64
}

// Stats returns the stream layer's counters.
func (js *JetStream) Stats() Stats {
	s := Stats{APITotal: js.apiTotal.Load(), APIErrors: js.apiErrors.Load()}
	for _, st := range js.sortedStreams() {
		state := st.store.State()
		s.Streams++
		s.Messages += state.Msgs
		s.Bytes += state.Bytes
		s.Consumers += st.numConsumers()
	}
	return s
}

// storageUsed returns the bytes held by file streams.
func (js *JetStream) storageUsed() uint64 {
	var n uint64
	for _, st := range js.sortedStreams() {
		if st.cfg().Storage == StorageFile {
			n += st.store.State().Bytes
		}
	}
	return n
}

// memoryUsed returns the bytes held by memory streams.
func (js *JetStream) memoryUsed() uint64 {
	var n uint64
	for _, st := range js.sortedStreams() {
		if st.cfg().Storage == StorageMemory {
			n += st.store.State().Bytes
		}
	}
	return n
}
