package store

import (
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// castagnoli is the one CRC-32C table of the stream layer: WAL blocks and
// consumer state records are both checksummed with it (see Checksum).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC-32C (Castagnoli) of b, the checksum every
// stored block carries. Callers that frame their own records on disk use
// it too, so the stream layer has one checksum and one table.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// WriteFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one: write a temporary file in the same directory,
// fsync it, rename it over path, fsync the directory. The file is made
// readable by its owner and group only (0640).
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	var f File
	var tmp string
	var err error
	for range 100 {
		tmp = filepath.Join(dir, "."+filepath.Base(path)+".tmp"+strconv.FormatUint(tmpSeq.Add(1), 36)+strconv.FormatInt(time.Now().UnixNano()&0xffffff, 36))
		f, err = Disk.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !os.IsExist(err) {
			break
		}
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		Disk.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		Disk.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		Disk.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o640); err != nil {
		Disk.Remove(tmp)
		return err
	}
	if err := Disk.Rename(tmp, path); err != nil {
		Disk.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// tmpSeq tells apart the temporary files of WriteFileAtomic.
var tmpSeq atomic.Uint64

// SyncDir fsyncs a directory so that files created, renamed or removed in
// it survive a crash or power loss. On Windows, which cannot open a
// directory for fsync and makes such changes durable itself, it does
// nothing.
func SyncDir(dir string) error { return Disk.SyncDir(dir) }

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
