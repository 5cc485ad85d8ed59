package store

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tidwall/wal"
)

// Reclaiming segments is done here rather than by tidwall/wal's
// TruncateFront, which removes the old segments and renames its .START
// file without fsyncing the directory in between: a power cut could keep
// the removals and lose the rename, and with it the live part of the
// segment being cut. Each step below is made durable before the next, so
// a cut leaves one of:
//
//   - the old segments, perhaps with a <index>.START.TEMP file, which
//     finishReclaim removes;
//   - a whole <index>.START file beside any of the old segments, which
//     finishReclaim completes (removes the segments before it, renames it);
//   - the new first segment and the segments after it.
//
// When the first entry to keep starts a segment, no file is copied: the
// segments before it are removed oldest first, each removal durable
// before the next, so the log left is always a contiguous run.

const (
	startSuffix = ".START"
	tempSuffix  = ".START.TEMP"
)

func segPath(dir string, index uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%0*d", segNameLen, index))
}

// reclaim removes the log entries below widx by whole segments, keeping
// the part of the segment holding widx from widx on. The log is closed
// while its files change and opened again after; reads wait meanwhile.
// Caller holds wmu; the entries from widx on are fsynced.
func (s *walStore) reclaim(widx uint64) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if err := s.reclaimFiles(widx); err != nil {
		return err
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.log != nil {
		return nil
	}
	l, err := wal.Open(s.opts.Dir, walOptions(s.opts))
	if err != nil {
		return err
	}
	s.log = l
	s.lastUse.Store(useTick.Add(1))
	logs.opened(s)
	return nil
}

// reclaimFiles does reclaim's work on the files. Caller holds wmu and rmu.
func (s *walStore) reclaimFiles(widx uint64) error {
	dir := s.opts.Dir
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	k := -1
	for i, seg := range segs {
		if len(seg.name) != segNameLen {
			return fmt.Errorf("%w: %s is left of an unfinished truncation", ErrCorrupt, seg.name)
		}
		if seg.index <= widx {
			k = i
		}
	}
	if k < 0 || (k == 0 && segs[0].index == widx) {
		return nil
	}
	// Close the log: it holds the newest segment open, and may hold the
	// one being cut in memory.
	s.lmu.Lock()
	if s.log != nil {
		err = Disk.SyncWith(dir, s.log.Close)
		s.log = nil
		s.w.syncOf, s.w.syncFn = nil, nil
		logs.closed(s)
	}
	s.lmu.Unlock()
	if err != nil {
		return err
	}
	if segs[k].index == widx {
		for _, seg := range segs[:k] {
			if err := Disk.Remove(filepath.Join(dir, seg.name)); err != nil {
				return err
			}
			if err := SyncDir(dir); err != nil {
				return err
			}
		}
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, segs[k].name))
	if err != nil {
		return err
	}
	off, err := frameOffset(data, int(widx-segs[k].index))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, segs[k].name, err)
	}
	final := segPath(dir, widx)
	if err := writeSynced(final+tempSuffix, data[off:]); err != nil {
		Disk.Remove(final + tempSuffix)
		return err
	}
	if err := Disk.Rename(final+tempSuffix, final+startSuffix); err != nil {
		return err
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	return completeStart(dir, segs[:k+1], final)
}

// completeStart removes the segments old, which lie before final's
// .START file, then renames that file to final, each step durable.
func completeStart(dir string, old []segFile, final string) error {
	for _, seg := range old {
		if err := Disk.Remove(filepath.Join(dir, seg.name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	if err := Disk.Rename(final+startSuffix, final); err != nil {
		return err
	}
	return SyncDir(dir)
}

// finishReclaim completes a reclaim a crash interrupted, before the log
// is opened: a .START file is whole (it was fsynced before it got its
// name), so the segments before it go and it takes its final name; a
// .START.TEMP file is dropped.
func finishReclaim(dir string) error {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	removed := false
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), tempSuffix) {
			if err := Disk.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
			removed = true
		}
	}
	if removed {
		if err := SyncDir(dir); err != nil {
			return err
		}
	}
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	for i, seg := range segs {
		if strings.HasSuffix(seg.name, startSuffix) {
			return completeStart(dir, segs[:i], segPath(dir, seg.index))
		}
	}
	return nil
}

// frameOffset returns the byte offset of entry n (0 for the first) of a
// segment's data.
func frameOffset(data []byte, n int) (int, error) {
	pos := 0
	for range n {
		size, k := binary.Uvarint(data[pos:])
		if k <= 0 || size > uint64(len(data)-pos-k) {
			return 0, fmt.Errorf("entry cut short at byte %d", pos)
		}
		pos += k + int(size)
	}
	return pos, nil
}

// writeSynced creates path with data and fsyncs it.
func writeSynced(path string, data []byte) error {
	f, err := Disk.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
