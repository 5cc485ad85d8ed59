package jetstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// streamMeta is what a stream keeps in its stream.json.
type streamMeta struct {
	Config  StreamConfig `json:"config"`
	Created time.Time    `json:"created"`
}

// stream is one stream: its store, its in-memory indexes and the goroutine
// that applies every change to it.
//
// All mutations (stored messages, deletes, purges, config updates, limit
// enforcement) run on the stream's writer goroutine, one at a time; mu
// guards what other goroutines read: the config, the indexes and the
// consumers map.
type stream struct {
	js      *JetStream
	name    string
	dir     string
	created time.Time
	store   store.Store

	mu        sync.RWMutex
	config    StreamConfig
	subjects  map[string]*subjectState
	dedup     dedupIndex
	lastMsgID string
	// removals counts what noteRemoved took out of subjects, so a
	// lookup that ran without the lock knows whether it is still true.
	removals  uint64
	ttls      ttlHeap
	consumers map[string]*consumer

	// life guards unsubs, started and the closing of quit: API workers
	// that may run at once start a stream (create), resubscribe it
	// (update) and stop it (delete).
	life   sync.Mutex
	unsubs []func()
	// started is set once the writer runs: stop waits for it only then.
	started bool
	// wmu is the writer role: whoever holds it may store and change the
	// stream, the writer goroutine or a publisher's read loop committing
	// inline (stream_inline.go). exited, under wmu, is set once the
	// writer has stopped: nothing may be stored after that.
	wmu    sync.Mutex
	exited bool
	in     ingestQueue
	rm     removalQueue
	ops    chan func()
	quit   chan struct{}
	done   chan struct{}

	// fault is set while the store fails writes (stream_fault.go).
	// Writer goroutine only.
	fault *storeFault
	// faultSeen is what monitoring reads of it: the failure publishers
	// are told, nil while the store takes writes; and how many publishes
	// were refused for it, over the stream's life in this process.
	faultSeen    atomic.Pointer[string]
	refusedTotal atomic.Uint64

	// batches are the open atomic batches, commit the one being stored
	// (stream_batch.go). Writer goroutine only.
	batches *atomicBatches
	commit  *atomicCommit

	// Scratch for the writer goroutine.
	batch   []store.StoredMsg
	results []ingestResult
	ackBuf  []byte
	// subjs is an admission's count of subjects, kept for the next one;
	// lastSubj the subject of the message admitted last.
	subjs    map[string]uint64
	lastSubj string
	// pending are the results sendAcks is answering, ackFn its publish
	// callback (sendPending, made once).
	pending []ingestResult
	ackFn   func(publish func(subject, reply string, header, data []byte) error)
}

func newStream(js *JetStream, dir string, cfg StreamConfig, created time.Time) *stream {
	return &stream{
		js:        js,
		name:      cfg.Name,
		dir:       dir,
		created:   created,
		config:    cfg,
		subjects:  make(map[string]*subjectState),
		consumers: make(map[string]*consumer),
		in:        newIngestQueue(),
		rm:        removalQueue{signal: make(chan struct{}, 1)},
		ops:       make(chan func()),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
	}
}

// createStream makes a new stream on disk (createStreamDir) and opens it;
// start makes it live.
func createStream(js *JetStream, cfg StreamConfig) (*stream, error) {
	created := time.Now().UTC()
	dir, err := createStreamDir(js, cfg, created)
	if dir == "" {
		return nil, err
	}
	st := newStream(js, dir, cfg, created)
	if err == nil {
		err = st.openStore()
	}
	if err == nil && cfg.Storage == StorageMemory && cfg.FirstSeq > 1 {
		if err = st.store.TruncateFront(cfg.FirstSeq); err != nil {
			st.store.Close()
		}
	}
	if err != nil {
		js.trashStream(dir)
		return nil, err
	}
	return st, nil
}

// openStream restores a stream from its directory; start makes it live.
func openStream(js *JetStream, dir string) (*stream, error) {
	b, err := os.ReadFile(filepath.Join(dir, "stream.json"))
	if err != nil {
		return nil, err
	}
	var meta streamMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("decode stream.json: %w", err)
	}
	cfg, aerr := normalize(meta.Config)
	if aerr != nil {
		return nil, fmt.Errorf("stored configuration: %s", aerr.Description)
	}
	st := newStream(js, dir, cfg, meta.Created)
	if err := st.openStore(); err != nil {
		return nil, err
	}
	if cfg.Storage == StorageMemory && cfg.FirstSeq > 1 {
		// A memory stream comes back empty, at its first sequence.
		if err := st.store.TruncateFront(cfg.FirstSeq); err != nil {
			st.store.Close()
			return nil, err
		}
	}
	if err := st.rebuildIndexes(); err != nil {
		st.store.Close()
		return nil, err
	}
	if err := st.restoreConsumers(); err != nil {
		st.store.Close()
		return nil, err
	}
	st.reconcileInterest()
	return st, nil
}

func (st *stream) openStore() error {
	if st.config.Storage == StorageMemory {
		st.store = store.NewMemStore()
		return nil
	}
	opts := store.Options{
		Dir:       filepath.Join(st.dir, "msgs"),
		Sync:      st.js.cfg.Sync,
		SyncEvery: st.js.cfg.SyncEvery,
		Logger:    st.js.log.With("stream", st.name),
	}
	if st.config.Compression == CompressionS2 {
		opts.Compression = store.CompressS2
	}
	s, err := openWAL(opts)
	if err != nil {
		return err
	}
	st.store = s
	return nil
}

// saveMeta writes stream.json atomically.
func (st *stream) saveMeta() error {
	st.mu.RLock()
	meta := streamMeta{Config: st.config, Created: st.created}
	st.mu.RUnlock()
	b, err := json.MarshalIndent(&meta, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(st.dir, "stream.json"), b)
}

// errStreamStopped is a start of a stream that was stopped (deleted)
// before it could start.
var errStreamStopped = errors.New("stream was deleted while it was being created")

// start subscribes to the stream's subjects and starts its writer.
func (st *stream) start() error {
	st.life.Lock()
	defer st.life.Unlock()
	select {
	case <-st.quit:
		return errStreamStopped
	default:
	}
	st.started = true
	go st.run()
	return st.subscribeLocked(st.cfg().Subjects)
}

// resubscribe moves the stream's subscriptions to subjects, unless it has
// been stopped meanwhile.
func (st *stream) resubscribe(subjects []string) error {
	st.life.Lock()
	defer st.life.Unlock()
	select {
	case <-st.quit:
		return nil
	default:
	}
	st.unsubscribeLocked()
	return st.subscribeLocked(subjects)
}

// subscribeLocked subscribes to subjects; st.life is held.
func (st *stream) subscribeLocked(subjects []string) error {
	subscribe := st.js.bus.Subscribe
	if tb, ok := st.js.bus.(TracingSubscriber); ok {
		subscribe = tb.SubscribeTraced
	}
	for _, s := range subjects {
		unsub, err := subscribe(s, "", st.onMsg)
		if err != nil {
			st.unsubscribeLocked()
			return err
		}
		st.unsubs = append(st.unsubs, unsub)
	}
	return nil
}

// unsubscribeLocked drops the stream's subscriptions; st.life is held.
func (st *stream) unsubscribeLocked() {
	for _, u := range st.unsubs {
		u()
	}
	st.unsubs = nil
}

// cfg returns the stream's configuration.
func (st *stream) cfg() StreamConfig {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.config
}

// onMsg runs on the publisher's goroutine: it copies the message and queues
// it for the writer.
func (st *stream) onMsg(m *protocol.Msg) {
	if t := m.Trace; t != nil && (t.Only() || isBatchMsg(m)) {
		// Traced only: the stream says it would take it, stores nothing.
		// (A traced message of an atomic batch is reported at once.)
		t.JetStream(st.name, string(m.Subject), false, "")
		if t.Only() {
			return
		}
	}
	c := copyMsg(m)
	cm := &c.msg
	if cm.Sender != nil {
		cm.Header, cm.Sender = clientHeader(cm.Header), nil
	}
	if cm.Trace != nil {
		if isBatchMsg(m) {
			cm.Trace = nil
		} else {
			cm.Trace.Hold() // Done once the write is answered (sendAcksWith)
		}
		// Deliveries of the stored copy are not traced again.
		cm.Header = traceDisabled(cm.Header)
	}
	if !st.in.push(cm, c, st.deferToReadEnd(m)) {
		if len(m.Reply) > 0 {
			b, _ := json.Marshal(&PubAck{Stream: st.name, Error: errStoreFailed(fmt.Errorf("stream ingest queue is full"))})
			st.js.bus.Publish(string(m.Reply), "", nil, b)
		}
		if cm.Trace != nil {
			cm.Trace.JetStream(st.name, string(cm.Subject), false, "stream ingest queue is full")
			cm.Trace.Done()
		}
		c.release()
	}
}

// do runs f on the writer goroutine and waits for it.
func (st *stream) do(f func()) bool {
	done := make(chan struct{})
	select {
	case st.ops <- func() { f(); close(done) }:
	case <-st.done:
		return false
	}
	<-done
	return true
}

// run is the writer goroutine.
func (st *stream) run() {
	defer close(st.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// Everything below runs holding the writer role (st.wmu), which a
	// publisher's read loop may hold instead for an inline commit
	// (stream_inline.go).
	for {
		select {
		case <-st.quit:
			st.wmu.Lock()
			for st.drainIngest() {
			}
			st.dropAllAtomic()
			st.exited = true
			st.wmu.Unlock()
			return
		case <-st.in.signal:
			st.wmu.Lock()
			st.drainIngest()
			st.wmu.Unlock()
		case f := <-st.ops:
			st.wmu.Lock()
			f()
			st.wmu.Unlock()
		case <-st.rm.signal:
			st.wmu.Lock()
			st.drainRemovals()
			st.wmu.Unlock()
		case <-tick.C:
			st.wmu.Lock()
			st.expire(time.Now())
			st.expireAtomic(time.Now())
			st.drainRemovals() // retries what a failed store kept back
			st.wmu.Unlock()
		}
	}
}

// stop ends the writer and the subscriptions; stored data is untouched.
func (st *stream) stop() {
	st.life.Lock()
	st.unsubscribeLocked()
	select {
	case <-st.quit:
	default:
		close(st.quit)
	}
	started := st.started
	st.life.Unlock()
	if started {
		<-st.done
	}
}

// close stops the stream and closes its consumers and store.
func (st *stream) close() error {
	st.stop()
	st.closeConsumers()
	return st.store.Close()
}

// numConsumers returns how many consumers the stream has.
func (st *stream) numConsumers() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.consumers)
}
