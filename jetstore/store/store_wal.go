package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"github.com/tidwall/wal"
)

// walStore keeps a stream in a tidwall/wal log: one WAL entry (a block,
// see block.go) per Append, Delete or TruncateFront call, and in memory
// only what it takes to find a message: the block index, the set of
// deleted sequences and the counters.
//
// Locks, in order: wmu, then mu or rmu. mu and rmu are never held
// together, and no lock is held while a Scan callback runs.
type walStore struct {
	opts Options
	// log is nil while parked (store_wal_park.go); lmu guards it, and
	// every use of it holds wmu or rmu besides, through useLog.
	lmu     sync.Mutex
	log     *wal.Log
	lastUse atomic.Uint64

	// wmu serialises the writers (Append, Delete, TruncateFront, the
	// background fsync, Close) and guards w. Writers may read the fields
	// under mu without taking it: only writers change them.
	wmu sync.Mutex
	w   walWriter

	// rmu serialises reads of the log, which tidwall/wal does not make
	// safe for concurrent use, and guards cache.
	rmu   sync.Mutex
	cache *blockCache

	// mu guards the in-memory view of the log.
	mu      sync.RWMutex
	st      walState
	idx     blockIndex
	deleted holeSet // deleted sequences in (st.first, st.last]
	closed  bool

	stop     chan struct{} // closed by Close to end syncLoop
	syncDone chan struct{} // closed when syncLoop returns

	// failpoint is the test-only fault point (SetFailPoint); guarded by
	// wmu, nil outside tests.
	failpoint func(op string) error
}

// walState holds the counters behind StoreState.
type walState struct {
	first, last         uint64 // first > last when empty
	firstTime, lastTime int64
	bytes               uint64
}

// walWriter is the writers' own state.
type walWriter struct {
	enc       blockEncoder
	segStarts []uint64 // WAL index of each segment file's first entry
	tailBytes int64    // bytes in the newest segment file
	dirty     bool     // written since the last fsync
	failed    error    // set by the first failed write; wraps ErrFailed
	// torn is set while a failed write may have left bytes past the last
	// good entry, which segStarts and tailBytes then locate; Recover
	// (or the failed write itself) cuts them off.
	torn bool
	// syncOf is the log syncFn fsyncs: its Sync method as a value, made
	// once per log rather than once per fsync.
	syncOf *wal.Log
	syncFn func() error
}

// cachedMsgOverhead approximates the memory a decoded message costs besides its
// bytes, for the read cache's budget.
const cachedMsgOverhead = 96

// OpenWAL opens the WAL store in opts.Dir, creating it if needed. Before
// opening the log it repairs a torn tail (see repairTail); it then reads
// the whole log to rebuild the index, so damage anywhere else makes it fail
// with an error wrapping ErrCorrupt, and opening takes time in proportion
// to the log's size.
//
// Memory: the newest segment, and one older one while a reader is in it
// (at most about 2×SegmentSize; a segment the writer closes is let go at
// once), the read cache (ReadCacheSize), 12 bytes per block from
// the one holding FirstSeq to the end, and 16 bytes per run of deleted
// sequences.
//
// Segment files are reclaimed once every block in them lies below
// FirstSeq; until then, deleted and purged messages keep their space.
func OpenWAL(opts Options) (Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("jetstore: Options.Dir is required")
	}
	if opts.Sync < SyncAlways || opts.Sync > SyncNever {
		return nil, fmt.Errorf("jetstore: unknown sync policy %v", opts.Sync)
	}
	if opts.Compression != CompressNone && opts.Compression != CompressS2 {
		return nil, fmt.Errorf("jetstore: unknown compression %d", opts.Compression)
	}
	opts = opts.withDefaults()
	s, err := openWAL(opts)
	if err != nil {
		return nil, fmt.Errorf("jetstore: open %s: %w", opts.Dir, err)
	}
	return s, nil
}

func openWAL(opts Options) (*walStore, error) {
	_, err := os.Stat(opts.Dir)
	created := errors.Is(err, fs.ErrNotExist)
	if created {
		if err := MkdirAll(opts.Dir, 0o750); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if err := finishReclaim(opts.Dir); err != nil {
		return nil, err
	}
	if err := repairTailFor(opts.Dir, opts.Logger, opts.Sync); err != nil {
		return nil, err
	}
	l, err := wal.Open(opts.Dir, walOptions(opts))
	if errors.Is(err, wal.ErrCorrupt) {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	} else if err != nil {
		return nil, err
	}
	s := &walStore{opts: opts, log: l, cache: newBlockCache(opts.ReadCacheSize)}
	// wal.Open may have created the first segment or finished a truncation
	// by renaming files.
	if err := SyncDir(opts.Dir); err != nil {
		l.Close()
		return nil, err
	}
	if err := s.load(); err != nil {
		l.Close()
		return nil, err
	}
	if opts.Sync == SyncInterval {
		s.stop = make(chan struct{})
		s.syncDone = make(chan struct{})
		go s.syncLoop()
	}
	s.lastUse.Store(useTick.Add(1))
	s.lmu.Lock()
	logs.opened(s)
	s.lmu.Unlock()
	return s, nil
}

// walOptions are the tidwall/wal options for a store: the store fsyncs
// itself, and keeps at most one older segment in memory.
func walOptions(opts Options) *wal.Options {
	return &wal.Options{
		NoSync:           true,
		SegmentSize:      opts.SegmentSize,
		SegmentCacheSize: 1,
		AllowEmpty:       true,
		DirPerms:         0o750,
		FilePerms:        0o640,
	}
}

// errBlockGone reports a block that TruncateFront removed while a reader
// was looking for it.
var errBlockGone = errors.New("block truncated")

// readBlock returns the decoded block at WAL index widx, from the cache or
// the log. The result is shared and must not be modified.
func (s *walStore) readBlock(widx uint64) (*blockRecords, error) {
	s.rmu.Lock()
	if r := s.cache.get(widx); r != nil {
		s.rmu.Unlock()
		return r, nil
	}
	l, err := s.useLog()
	var data []byte
	if err == nil {
		data, err = l.Read(widx)
	}
	s.rmu.Unlock()
	switch {
	case err == nil:
	case errors.Is(err, wal.ErrNotFound):
		return nil, errBlockGone
	case errors.Is(err, wal.ErrClosed):
		return nil, ErrClosed
	case errors.Is(err, wal.ErrCorrupt):
		return nil, fmt.Errorf("%w: wal entry %d: segment frames are damaged", ErrCorrupt, widx)
	default:
		return nil, fmt.Errorf("read wal entry %d: %w", widx, err)
	}
	recs, size, err := decodeBlock(data)
	if err != nil {
		return nil, fmt.Errorf("%w: wal entry %d: %v", ErrCorrupt, widx, err)
	}
	s.rmu.Lock()
	s.cache.put(widx, &recs, size+cachedMsgOverhead*len(recs.msgs))
	s.rmu.Unlock()
	return &recs, nil
}

// msgAt returns message seq from the block at WAL index widx.
func (s *walStore) msgAt(widx, seq uint64) (StoredMsg, error) {
	recs, err := s.readBlock(widx)
	if err != nil {
		return StoredMsg{}, err
	}
	if n := len(recs.msgs); n > 0 && seq >= recs.msgs[0].Seq && seq <= recs.msgs[n-1].Seq {
		return recs.msgs[seq-recs.msgs[0].Seq], nil
	}
	return StoredMsg{}, fmt.Errorf("%w: wal entry %d does not hold seq %d", ErrCorrupt, widx, seq)
}

// locate returns the WAL index of the block holding stored message seq, or
// ErrMsgNotFound. Caller holds mu (either way) or wmu.
func (s *walStore) locate(seq uint64) (uint64, error) {
	if seq < s.st.first || seq > s.st.last || s.deleted.contains(seq) {
		return 0, ErrMsgNotFound
	}
	p := s.idx.find(seq)
	if p < 0 {
		return 0, fmt.Errorf("%w: no block holds seq %d", ErrCorrupt, seq)
	}
	return s.idx.base + uint64(p), nil
}

func (s *walStore) Load(seq uint64) (StoredMsg, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return StoredMsg{}, ErrClosed
	}
	widx, err := s.locate(seq)
	s.mu.RUnlock()
	if err != nil {
		return StoredMsg{}, err
	}
	m, err := s.msgAt(widx, seq)
	if errors.Is(err, errBlockGone) {
		return StoredMsg{}, ErrMsgNotFound
	}
	if err != nil {
		return StoredMsg{}, fmt.Errorf("load seq %d: %w", seq, err)
	}
	return m, nil
}

func (s *walStore) Scan(from uint64, fn func(m StoredMsg) bool) error {
	seq := from
	for {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return ErrClosed
		}
		seq = max(seq, s.st.first)
		if seq > s.st.last {
			s.mu.RUnlock()
			return nil
		}
		p := s.idx.find(seq)
		widx := s.idx.base + uint64(p)
		s.mu.RUnlock()
		if p < 0 {
			return fmt.Errorf("scan: %w: no block holds seq %d", ErrCorrupt, seq)
		}
		recs, err := s.readBlock(widx)
		if errors.Is(err, errBlockGone) && seq < s.State().FirstSeq {
			continue // truncated meanwhile
		}
		if err != nil {
			return fmt.Errorf("scan at seq %d: %w", seq, err)
		}
		msgs := recs.msgs
		if len(msgs) == 0 || seq < msgs[0].Seq || seq > msgs[len(msgs)-1].Seq {
			return fmt.Errorf("scan: %w: wal entry %d does not hold seq %d", ErrCorrupt, widx, seq)
		}
		for _, m := range msgs[seq-msgs[0].Seq:] {
			if s.stored(m.Seq) && !fn(m) {
				return nil
			}
		}
		seq = msgs[len(msgs)-1].Seq + 1
	}
}

// stored reports whether seq is in range and not deleted.
func (s *walStore) stored(seq uint64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return seq >= s.st.first && seq <= s.st.last && !s.deleted.contains(seq)
}

func (s *walStore) State() StoreState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := StoreState{
		Bytes:      s.st.bytes,
		FirstSeq:   s.st.first,
		LastSeq:    s.st.last,
		FirstTime:  s.st.firstTime,
		LastTime:   s.st.lastTime,
		NumDeleted: int(s.deleted.len()),
	}
	if s.st.first <= s.st.last {
		st.Msgs = s.st.last - s.st.first + 1 - s.deleted.len()
	}
	return st
}

func (s *walStore) Count(from, to uint64) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	from, to = max(from, s.st.first), min(to, s.st.last)
	if from > to {
		return 0
	}
	return to - from + 1 - s.deleted.countIn(from, to)
}

func (s *walStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.syncDone
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.lmu.Lock()
	defer s.lmu.Unlock()
	logs.closed(s)
	if s.log == nil {
		return nil // parked: closed already, nothing unsynced
	}
	if err := Disk.SyncWith(s.opts.Dir, s.log.Close); err != nil {
		return fmt.Errorf("jetstore: close: %w", err)
	}
	return nil
}
