package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tidwall/wal"
)

// Recover brings a failed store (see ErrFailed) back to taking
// writes without closing it, once the cause has gone (space was freed),
// and returns nil; a store that has not failed needs nothing. It fails,
// changing nothing the store serves, while the log cannot be put back
// into a state it can prove.
//
// The state it can prove is the one in memory: every entry in it was
// written, and, under SyncAlways, fsynced, before the call that wrote it
// returned nil. A failed write may have left more in the files (a torn
// frame, or a whole entry that was written but whose fsync failed, so
// that it may be on disk or only in the page cache; after a failed fsync
// the kernel may even have dropped the dirty pages and marked them
// clean). None of that was acknowledged, so the log is cut back to the
// end of the last good entry (cutBack, done by the failed write already
// when it could), and opened again from disk. Truncating drops the
// doubtful pages, so what is written next is written afresh and fsynced
// like any other write. Recover then checks that the log ends at the
// last good entry and that the entry reads back whole before the store
// takes writes again; the in-memory view needs no change.
//
// Under SyncInterval and SyncNever, writes that succeeded but were not
// fsynced yet are kept: a failed background fsync may have lost them on
// power loss, as those policies allow, but never in a running store.
//
// A failure in the middle of reclaiming segments (reclaim, which leaves
// a .START file) is finished (finishReclaim) instead of cutting.
func (s *walStore) Recover() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err == nil || errors.Is(err, ErrClosed) {
		return err
	}
	if s.w.torn {
		if err := s.cutBack(); err != nil {
			return fmt.Errorf("jetstore: recover %s: %w", s.opts.Dir, err)
		}
		s.w.torn = false
	}
	if err := finishReclaim(s.opts.Dir); err != nil {
		return fmt.Errorf("jetstore: recover %s: %w", s.opts.Dir, err)
	}
	if err := repairTailFor(s.opts.Dir, s.opts.Logger, s.opts.Sync); err != nil {
		return fmt.Errorf("jetstore: recover %s: %w", s.opts.Dir, err)
	}
	l, err := wal.Open(s.opts.Dir, walOptions(s.opts))
	if err != nil {
		return fmt.Errorf("jetstore: recover %s: open log: %w", s.opts.Dir, err)
	}
	if err := s.checkReopened(l); err != nil {
		l.Close()
		return fmt.Errorf("jetstore: recover %s: %w", s.opts.Dir, err)
	}
	if err := Disk.SyncWith(s.opts.Dir, l.Sync); err != nil {
		l.Close()
		return fmt.Errorf("jetstore: recover %s: fsync: %w", s.opts.Dir, err)
	}
	if err := SyncDir(s.opts.Dir); err != nil {
		l.Close()
		return fmt.Errorf("jetstore: recover %s: fsync dir: %w", s.opts.Dir, err)
	}
	s.rmu.Lock()
	s.lmu.Lock()
	old := s.log
	s.log = l
	s.lastUse.Store(useTick.Add(1))
	logs.opened(s)
	s.lmu.Unlock()
	s.rmu.Unlock()
	// The old log's files are the new one's now; its close may report the
	// same failure again, and nothing depends on it.
	if old != nil {
		old.Close()
	}
	if err := s.readSegments(); err != nil {
		return s.fail("list segments", err)
	}
	s.w.failed = nil
	s.w.dirty = false
	return nil
}

// cutBack truncates the log's files to the end of the last good entry:
// the newest segment the writer knows of is cut to its known length, and
// segment files after it are removed. Only a failed write (torn) leaves
// segStarts and tailBytes saying where that is; after a failure to reclaim
// segments they may be out of date, and the files are not cut. It leaves
// the files alone when a segment truncation was under way. The log stays
// open for reads meanwhile: it holds its newest segment in memory, and the
// entries it is asked for lie before the cut. Caller holds wmu.
func (s *walStore) cutBack() error {
	segs, err := listSegments(s.opts.Dir)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		if len(seg.name) != segNameLen {
			return nil // .START or .END: wal.Open finishes the truncation
		}
	}
	if len(s.w.segStarts) == 0 {
		return errors.New("no segment is known to hold the log's end")
	}
	tailStart := s.w.segStarts[len(s.w.segStarts)-1]
	removed := false
	for _, seg := range segs {
		if seg.index > tailStart {
			if err := Disk.Remove(filepath.Join(s.opts.Dir, seg.name)); err != nil {
				return err
			}
			removed = true
		}
	}
	path := filepath.Join(s.opts.Dir, fmt.Sprintf("%0*d", segNameLen, tailStart))
	f, err := Disk.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < s.w.tailBytes {
		err = fmt.Errorf("%w: %s holds %d bytes; %d were written", ErrCorrupt, path, fi.Size(), s.w.tailBytes)
	}
	if err == nil && fi.Size() > s.w.tailBytes {
		err = f.Truncate(s.w.tailBytes)
		if err == nil {
			s.opts.Logger.Debug("jetstore: cut unacknowledged bytes off the WAL after a failed write",
				"file", path, "offset", s.w.tailBytes, "dropped_bytes", fi.Size()-s.w.tailBytes)
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if removed {
		return SyncDir(s.opts.Dir)
	}
	return nil
}

// checkReopened checks that l, the log opened again from disk, ends at the
// last entry the store knows and still holds every entry from the first
// one the store needs, and that the last entry reads back whole. Caller
// holds wmu.
func (s *walStore) checkReopened(l *wal.Log) error {
	first, err := l.FirstIndex()
	if err != nil {
		return err
	}
	last, err := l.LastIndex()
	if err != nil {
		return err
	}
	want := s.idx.next() - 1
	if last != want {
		return fmt.Errorf("%w: the log ends at entry %d; the store wrote up to %d", ErrCorrupt, last, want)
	}
	if first > s.idx.base && first <= last {
		return fmt.Errorf("%w: the log starts at entry %d; the store needs %d", ErrCorrupt, first, s.idx.base)
	}
	if last == 0 || first > last {
		return nil
	}
	data, err := l.Read(last)
	if err != nil {
		return fmt.Errorf("read wal entry %d: %w", last, err)
	}
	if _, _, err := decodeBlock(data); err != nil {
		return fmt.Errorf("%w: wal entry %d: %v", ErrCorrupt, last, err)
	}
	return nil
}
