package store

import (
	"errors"
	"log/slog"
	"strconv"
	"time"
)

// StoredMsg is one message in a stream.
type StoredMsg struct {
	Seq     uint64
	Time    int64  // unix nanoseconds, as given to Append
	Subject string // as given to Append; the store does not check its grammar
	Header  []byte // NATS/1.0 header block, or nil
	Data    []byte // payload, or nil
}

// Size is what a message counts towards StoreState.Bytes: the lengths of
// its subject, header and payload.
func (m *StoredMsg) Size() uint64 {
	return uint64(len(m.Subject) + len(m.Header) + len(m.Data))
}

// StoreState is a snapshot of a store's contents.
//
// Sequences are gapless from 1: every sequence up to LastSeq was either
// appended or skipped by a TruncateFront past the end. Messages live in
// [FirstSeq, LastSeq] minus NumDeleted holes. FirstSeq is always a stored
// message, or LastSeq+1 when the store is empty (1 for a new store).
type StoreState struct {
	Msgs       uint64 // stored messages
	Bytes      uint64 // sum of len(Subject)+len(Header)+len(Data) over stored messages
	FirstSeq   uint64
	LastSeq    uint64
	FirstTime  int64 // Time of the message at FirstSeq, 0 when empty
	LastTime   int64 // Time of the message last appended, kept after it is deleted or purged
	NumDeleted int   // holes in (FirstSeq, LastSeq] left by Delete
}

// Store holds the messages of one stream in sequence order.
//
// All methods are safe for concurrent use. Mutating calls (Append, Delete,
// TruncateFront) are applied one at a time, in the order they take the
// store's lock; each is as durable as the store's SyncPolicy promises when
// it returns nil (the in-memory store promises nothing across restarts).
//
// Messages handed out by Load and Scan may share memory with the store and
// with other callers: treat Header and Data as read-only. They stay valid
// for as long as the caller holds them, whatever later happens to the store.
// Empty headers and payloads come back as nil.
type Store interface {
	// Append stores msgs as one unit: after a crash either all of them are
	// in the store or none. msgs[i].Seq must be LastSeq+1+i; to start at a
	// later sequence, call TruncateFront first. Append copies what it
	// keeps, so the caller may reuse msgs and their buffers once it
	// returns. An empty msgs is a no-op.
	//
	// Errors: ErrBadSeq, ErrTooLarge (nothing stored), ErrClosed, ErrFailed.
	Append(msgs []StoredMsg) error

	// Load returns the message stored at seq.
	//
	// Errors: ErrMsgNotFound when seq was never stored, was deleted or lies
	// below FirstSeq; ErrCorrupt when the stored bytes fail their checksum;
	// ErrClosed.
	Load(seq uint64) (StoredMsg, error)

	// Delete removes the given messages, in any order, as one unit. Either
	// all of them are deleted or, when one of them is not stored, none is
	// and the error wraps ErrMsgNotFound. Deleting FirstSeq advances
	// FirstSeq to the next stored message; LastSeq never moves.
	//
	// Errors: ErrMsgNotFound, ErrTooLarge, ErrCorrupt, ErrClosed, ErrFailed.
	Delete(seqs ...uint64) error

	// TruncateFront removes every message below first (a purge, or a limit
	// dropping old messages). A first at or below FirstSeq is a no-op. A
	// first beyond LastSeq+1 empties the store and moves LastSeq to
	// first-1, so the next Append starts at first. The new FirstSeq
	// survives a restart even when storage can only reclaim whole blocks.
	//
	// Errors: ErrCorrupt, ErrClosed, ErrFailed.
	TruncateFront(first uint64) error

	// State returns a snapshot of the store's counters. After Close it
	// returns the last state.
	State() StoreState

	// Scan calls fn for each stored message with Seq >= from, in sequence
	// order, until fn returns false or the messages run out. No lock is
	// held while fn runs, so fn may call the store; messages appended or
	// deleted during a Scan may or may not be seen. Used to rebuild
	// indexes (subjects, dedup ids) after opening a store.
	//
	// Errors: ErrCorrupt, ErrClosed.
	Scan(from uint64, fn func(m StoredMsg) bool) error

	// Count returns how many messages are stored at sequences from..to,
	// both included. It reads only the in-memory index: its cost grows
	// with the runs of deleted messages, not with the messages. After
	// Close it counts the last state.
	Count(from, to uint64) uint64

	// Recover brings a store that failed (ErrFailed) back to taking writes
	// once the cause has gone (space was freed, the device is back), without
	// closing it, and returns nil. A store that has not failed needs
	// nothing and returns nil; the in-memory store never fails. While the
	// cause persists it returns an error and changes nothing the store
	// serves, so the caller can try again later.
	//
	// Errors: ErrClosed, or why the store cannot take writes yet.
	Recover() error

	// Close flushes and releases the store. Every later call returns
	// ErrClosed (State excepted). Close itself fsyncs whatever was written,
	// under every SyncPolicy.
	Close() error
}

var (
	// ErrMsgNotFound is returned by Load and Delete for a sequence that is
	// not stored: never appended, deleted, or below FirstSeq.
	ErrMsgNotFound = errors.New("jetstore: message not found")

	// ErrBadSeq is returned by Append when msgs[0].Seq is not LastSeq+1 or
	// the batch's sequences do not grow by one.
	ErrBadSeq = errors.New("jetstore: sequence out of order")

	// ErrTooLarge is returned by Append and Delete when one call would
	// encode to more than MaxBlockSize bytes. Nothing is stored; split the
	// call.
	ErrTooLarge = errors.New("jetstore: batch too large")

	// ErrCorrupt is returned when stored bytes fail their checksum or do
	// not decode: by OpenWAL for damage anywhere but a torn tail (which it
	// repairs), and by Load, Scan, Delete and TruncateFront for damage found
	// later. The error says where (WAL index, file, offset or sequence).
	// The store never returns a message from a damaged block.
	ErrCorrupt = errors.New("jetstore: corrupt data")

	// ErrClosed is returned by every method but State after Close.
	ErrClosed = errors.New("jetstore: store closed")

	// ErrFailed is returned by mutating calls after a write, fsync or
	// file operation failed (a full disk, an I/O error). What the failed
	// call wrote is in doubt (an fsync error may have dropped dirty
	// pages), so the store takes no more writes until it recovers: the WAL
	// store cuts the failed write off its log and can take writes again
	// without closing once the cause has gone (Recover); closing and
	// opening it again, which re-reads the log, works too. Reads keep
	// working. The error is a *WriteError, which also wraps the original
	// failure.
	ErrFailed = errors.New("jetstore: store failed")
)

// MaxBlockSize bounds the encoded size of one Append or Delete call, and the
// decoded size the WAL store accepts for one stored block.
const MaxBlockSize = 64 << 20

// SyncPolicy says when the WAL store fsyncs what it wrote.
type SyncPolicy int

const (
	// SyncAlways fsyncs before Append, Delete or TruncateFront returns:
	// a call that returned nil survives kill -9 and power loss. It costs
	// one fsync per call, so callers batch concurrent publishes into one
	// Append (group commit). This is the default.
	SyncAlways SyncPolicy = iota

	// SyncInterval fsyncs in the background every Options.SyncEvery. A
	// process crash loses nothing, but power loss or a kernel crash can
	// undo the calls of the last interval: appended messages vanish,
	// deleted and purged ones reappear. If the disk wrote those pages out
	// of order, OpenWAL may also find damage before the end of the log
	// and refuse to open it (ErrCorrupt) rather than guess.
	SyncInterval

	// SyncNever leaves flushing to the operating system and Close. A
	// process crash loses nothing; power loss or a kernel crash can undo
	// any amount of recent history, with the same risks as SyncInterval
	// and no bound on their age.
	SyncNever
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return "SyncPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Compression selects how the WAL store compresses its blocks.
type Compression int

const (
	// CompressNone stores blocks as they are. The default.
	CompressNone Compression = iota
	// CompressS2 compresses each block with S2 and keeps the result only
	// when it is smaller. It pays off for batches of similar messages; a
	// single small message rarely shrinks.
	CompressS2
)

// Options configures OpenWAL. Zero fields take the documented defaults.
type Options struct {
	// Dir is the directory holding the log's segment files. It is created
	// if missing and must not be shared with anything else. Required.
	Dir string

	// Sync is when writes are fsynced. Default SyncAlways.
	Sync SyncPolicy

	// SyncEvery is the fsync period under SyncInterval. Default 1s.
	SyncEvery time.Duration

	// Compression of stored blocks. Default CompressNone. Blocks written
	// under either setting stay readable under the other.
	Compression Compression

	// SegmentSize is the size at which the log starts a new segment file.
	// The newest segment stays in memory, as does an older segment while
	// it is being read, so a store costs once or twice this in RAM.
	// Default 1 MiB: a gateway's streams keep little in memory, and a
	// segment is reclaimed, with its disk space, in small steps.
	SegmentSize int

	// ReadCacheSize bounds the decoded bytes of recently read blocks kept
	// for Load and Scan. The most recent block is always kept, whatever its
	// size. Default 256 KiB.
	ReadCacheSize int

	// Logger receives repairs and background failures. Default
	// slog.Default().
	Logger *slog.Logger
}

const (
	defaultSyncEvery     = time.Second
	defaultSegmentSize   = 1 << 20
	defaultReadCacheSize = 256 << 10
)

func (o Options) withDefaults() Options {
	if o.SyncEvery <= 0 {
		o.SyncEvery = defaultSyncEvery
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = defaultSegmentSize
	}
	if o.ReadCacheSize <= 0 {
		o.ReadCacheSize = defaultReadCacheSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
