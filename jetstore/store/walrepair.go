package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
)

// tidwall/wal keeps a log as segment files named by the WAL index of their
// first entry in 20 decimal digits; a name may carry a .START or .END suffix
// while a truncation is being finished. Each entry is framed as a uvarint
// length followed by that many bytes, with nothing else: no checksum, no
// end marker. Its Open fails on a segment whose last frame is cut short and
// reads zero bytes (what a crash can leave past the end of a file) as empty
// entries. repairTail runs before it to fix both.

// segFile is one segment file of the log.
type segFile struct {
	name  string
	index uint64 // WAL index of its first entry
}

const segNameLen = 20

// listSegments returns the segment files in dir in name order, the order in
// which tidwall/wal reads them.
func listSegments(dir string) ([]segFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segFile
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || len(name) < segNameLen {
			continue
		}
		idx, err := strconv.ParseUint(name[:segNameLen], 10, 64)
		if err != nil || idx == 0 {
			continue
		}
		switch name[segNameLen:] {
		case "", ".START", ".END":
			segs = append(segs, segFile{name: name, index: idx})
		}
	}
	return segs, nil
}

// repairTail makes the newest segment in dir end at its last whole entry
// with a valid checksum, truncating anything after it (a torn write, zeros,
// garbage) and logging what it dropped. Damage followed by a valid entry is
// not a torn tail: repairTail then changes nothing and returns an error
// wrapping ErrCorrupt. A missing or empty dir needs no repair.
func repairTail(dir string, logger *slog.Logger) error {
	segs, err := listSegments(dir)
	if errors.Is(err, fs.ErrNotExist) || len(segs) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	seg := segs[len(segs)-1]
	path := filepath.Join(dir, seg.name)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	keep, entries, err := scanFrames(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if keep == len(data) {
		return nil
	}
	f, err := Disk.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(keep)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	logger.Warn("jetstore: truncated damaged WAL tail",
		"file", path,
		"offset", keep,
		"dropped_bytes", len(data)-keep,
		"kept_entries", entries,
		"first_dropped_index", seg.index+uint64(entries))
	return nil
}

// scanFrames walks the frames of one segment and returns the length of its
// valid prefix and how many entries that prefix holds. An entry is valid
// when its frame is whole and its checksum matches; an empty entry is
// damage. It returns an error when a damaged entry is followed by a valid
// one.
func scanFrames(data []byte) (keep, entries int, err error) {
	keep = -1
	pos := 0
	for pos < len(data) {
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 || size > uint64(len(data)-pos-n) {
			// A frame cut short: nothing after it can be framed.
			if keep < 0 {
				keep = pos
			}
			break
		}
		end := pos + n + int(size)
		if entryChecksumOK(data[pos+n : end]) {
			if keep >= 0 {
				return 0, 0, fmt.Errorf("damaged entry at byte %d is followed by a valid entry at byte %d", keep, pos)
			}
			entries++
		} else if keep < 0 {
			keep = pos
		}
		pos = end
	}
	if keep < 0 {
		keep = len(data)
	}
	return keep, entries, nil
}
