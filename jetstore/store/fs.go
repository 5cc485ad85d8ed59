package store

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FS is the handful of calls through which the stream layer changes its
// files: the stream directories (create in tmp/, delete into trash/,
// set aside into broken/), atomic file replacement, the consumer state
// log, and the WAL's own directory operations (segment reclaim, tail
// repair). Reads go to the operating system directly: they change
// nothing a crash could leave half done.
//
// Disk is the one in use. Production code never changes it; a test may
// put a recording file system there (and back) to replay what a power
// cut at any point of an operation leaves on disk.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Mkdir(name string, perm fs.FileMode) error
	Rename(from, to string) error
	Remove(name string) error
	ReadDir(name string) ([]fs.DirEntry, error)
	// SyncDir fsyncs directory name, making the entries created, renamed
	// or removed in it durable.
	SyncDir(name string) error
	// SyncWith runs sync, an fsync that a library does of the files it
	// writes itself in directory dir (tidwall/wal's segments).
	SyncWith(dir string, sync func() error) error
}

// File is an open file of an FS.
type File interface {
	io.Writer
	io.Seeker
	Sync() error
	Close() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
}

// Disk is the file system the stream layer writes through: the operating
// system's.
var Disk FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil File
	}
	return f, nil
}
func (osFS) Mkdir(name string, perm fs.FileMode) error  { return os.Mkdir(name, perm) }
func (osFS) Rename(from, to string) error               { return os.Rename(from, to) }
func (osFS) Remove(name string) error                   { return os.Remove(name) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
func (osFS) SyncDir(name string) error                  { return syncDir(name) }
func (osFS) SyncWith(_ string, sync func() error) error { return sync() }

// RemoveAll removes path and everything under it through Disk, children
// first, like os.RemoveAll. A path that does not exist is no error.
func RemoveAll(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	if fi.IsDir() {
		ents, err := Disk.ReadDir(path)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range ents {
			if err := RemoveAll(filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := Disk.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// MkdirAll makes dir and any missing parents through Disk, fsyncing the
// parent of each directory it makes so that the new entries survive a
// power cut.
func MkdirAll(dir string, perm fs.FileMode) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: os.ErrExist}
		}
		return nil
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if parent != filepath.Clean(dir) {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := Disk.Mkdir(dir, perm); err != nil {
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
		return err
	}
	return Disk.SyncDir(parent)
}
