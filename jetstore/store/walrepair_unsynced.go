package store

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
)

// repairTailFor is repairTail for a log written under policy. Under
// SyncAlways a damaged entry followed by a valid one is damage to data
// that was on disk, and the error stands. Under SyncInterval and
// SyncNever it is what a power cut leaves of writes not yet fsynced: the
// disk may have kept a later page and lost an earlier one. The segment is
// then cut at the first damaged entry, keeping every entry before it, and
// the cut is logged; what follows it was not promised to survive.
func repairTailFor(dir string, logger *slog.Logger, policy SyncPolicy) error {
	err := repairTail(dir, logger)
	if err == nil || policy == SyncAlways || !errors.Is(err, ErrCorrupt) {
		return err
	}
	segs, lerr := listSegments(dir)
	if lerr != nil || len(segs) == 0 {
		return err
	}
	seg := segs[len(segs)-1]
	path := filepath.Join(dir, seg.name)
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		return rerr
	}
	keep, entries := firstDamage(data)
	if terr := truncateSynced(path, int64(keep)); terr != nil {
		return terr
	}
	logger.Warn("jetstore: cut the WAL at a damaged entry that valid ones follow, as a power cut can leave unsynced writes",
		"file", path,
		"offset", keep,
		"dropped_bytes", len(data)-keep,
		"kept_entries", entries,
		"first_dropped_index", seg.index+uint64(entries))
	return nil
}

// firstDamage returns the length of the prefix of a segment before its
// first damaged or cut-short entry, and how many entries it holds.
func firstDamage(data []byte) (keep, entries int) {
	pos := 0
	for pos < len(data) {
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 || size > uint64(len(data)-pos-n) {
			return pos, entries
		}
		end := pos + n + int(size)
		if !entryChecksumOK(data[pos+n : end]) {
			return pos, entries
		}
		entries++
		pos = end
	}
	return pos, entries
}

// truncateSynced truncates path to size and fsyncs it.
func truncateSynced(path string, size int64) error {
	f, err := Disk.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
