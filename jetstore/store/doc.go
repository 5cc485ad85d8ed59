// Package store is the storage engine of Wren's stream layer: the messages
// of one stream, in sequence order, in memory (NewMemStore) or in a
// write-ahead log on disk (OpenWAL).
//
// It knows nothing of streams, consumers or the JetStream API: it stores
// and returns numbered messages, removes them from the front or one by
// one, and says how durable a write is (SyncPolicy). Everything it offers
// is the Store interface, the Options of OpenWAL, the sentinel errors
// (ErrMsgNotFound, ErrBadSeq, ErrTooLarge, ErrCorrupt, ErrClosed,
// ErrFailed) and the *WriteError a failed store returns until Recover
// brings it back. WriteFileAtomic, SyncDir and Checksum are the file and
// checksum primitives its callers share with it, so the stream layer has
// one of each.
//
// On disk a log is a tidwall/wal directory, one WAL entry (a block) per
// Append, Delete or TruncateFront call, each checksummed with CRC-32C and
// optionally S2-compressed (block.go, record.go). Because tidwall/wal
// neither checksums nor repairs, the store repairs a torn tail before
// opening a log (walrepair.go), treats empty entries as damage, serialises
// reads, and fsyncs the directory on segment changes.
//
// Locks of the WAL store, in order: wmu (the writers), then mu (the
// in-memory view) or rmu (reads of the log and the read cache); mu and rmu
// are never held together, and none is held while a Scan callback runs.
// Its one goroutine, under SyncInterval only, is the background fsync.
//
// Every change the store and the stream layer make to their files and
// directories goes through Disk (an FS: the operating system's), so that
// tests can record the operations and replay what a power cut leaves.
// tidwall/wal writes its segments itself; the store reclaims segments
// itself (store_wal_reclaim.go), each step durable before the next.
//
// The logs open at once are bounded (store_wal_park.go) by a FileSet
// (fileset.go), an LRU of open files that the stream layer's consumer
// state logs use too, with a budget of their own.
//
// SetFailPoint is for tests only: it makes the WAL store's writes, fsyncs
// and file operations report failures, as a full disk would.
package store
