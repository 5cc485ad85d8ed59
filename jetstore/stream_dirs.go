package jetstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
)

// A stream's directory changes only by rename, so a crash at any point
// leaves it whole or absent:
//
//	jetstream/streams/<name>   live streams, opened at start
//	jetstream/tmp/             streams being created: built here, renamed
//	                           into streams/ once complete
//	jetstream/trash/           deleted streams: renamed here, then removed
//	jetstream/broken/          streams that could not be opened at start,
//	                           set aside for the operator with their reason
//
// At start, whatever tmp/ and trash/ hold is removed.

// BrokenStream is a stream directory that could not be opened at start:
// it was set aside and the stream is not served.
type BrokenStream struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// MovedTo is where the directory now is, empty when it could not be
	// moved.
	MovedTo string `json:"moved_to,omitempty"`
}

func (js *JetStream) sideDir(name string) string {
	return filepath.Join(filepath.Dir(js.dir), name)
}

// prepareDirs makes the side directories, drops what an interrupted
// create left, and empties the trash in the background.
func (js *JetStream) prepareDirs() error {
	for _, d := range []string{"tmp", "trash", "broken"} {
		if err := store.MkdirAll(js.sideDir(d), 0o750); err != nil {
			return fmt.Errorf("jetstore: create store directory: %w", err)
		}
	}
	if err := removeEntries(js.sideDir("tmp")); err != nil {
		js.log.Warn("could not remove an interrupted stream creation", "error", err)
	}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		if err := removeEntries(js.sideDir("trash")); err != nil {
			js.log.Warn("could not empty the deleted streams", "error", err)
		}
	}()
	return nil
}

// removeEntries removes everything in dir, and dir's entries from disk.
func removeEntries(dir string) error {
	entries, err := store.Disk.ReadDir(dir)
	if err != nil {
		return err
	}
	var first error
	for _, e := range entries {
		if err := store.RemoveAll(filepath.Join(dir, e.Name())); err != nil && first == nil {
			first = err
		}
	}
	if len(entries) > 0 {
		store.SyncDir(dir)
	}
	return first
}

// moveDir renames dir into side under a name no other move used (the
// stream's name, cut short so that the suffix fits a file name), and
// makes both directories' entries durable. It returns the new path.
func (js *JetStream) moveDir(dir, side string) (string, error) {
	base := filepath.Base(dir)
	if len(base) > 200 {
		base = base[:200]
	}
	to := filepath.Join(js.sideDir(side), base+"."+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := store.Disk.Rename(dir, to); err != nil {
		return "", err
	}
	if err := store.SyncDir(filepath.Dir(dir)); err != nil {
		return to, err
	}
	return to, store.SyncDir(js.sideDir(side))
}

// trashStream takes a closed stream's directory out of the store at once
// and removes it in the background.
func (js *JetStream) trashStream(dir string) error {
	to, err := js.moveDir(dir, "trash")
	if to == "" {
		return err
	}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		if err := store.RemoveAll(to); err != nil {
			js.log.Warn("could not remove a deleted stream's files", "error", err)
		}
	}()
	return err
}

// setAside records a stream that could not be opened at start and moves
// its directory into broken/.
func (js *JetStream) setAside(name, dir string, cause error) {
	b := BrokenStream{Name: name, Reason: clientError(cause).Error()}
	to, err := js.moveDir(dir, "broken")
	b.MovedTo = to
	js.log.Error("stream cannot be opened; it is set aside and not served", "stream", name, "error", cause, "moved_to", to)
	if err != nil {
		js.log.Error("could not set the stream's directory aside", "stream", name, "error", err)
	}
	js.brokenMu.Lock()
	js.broken = append(js.broken, b)
	js.brokenMu.Unlock()
}

// Broken returns the streams set aside at start.
func (js *JetStream) Broken() []BrokenStream {
	js.brokenMu.Lock()
	defer js.brokenMu.Unlock()
	return append([]BrokenStream(nil), js.broken...)
}

// openStreamSafe opens a stream directory, turning a panic inside the
// code that reads it (ours or a dependency's) into an error, so that one
// damaged stream cannot keep the others from starting.
func openStreamSafe(js *JetStream, dir string) (st *stream, err error) {
	defer func() {
		if r := recover(); r != nil {
			js.log.Debug("panic while opening a stream", "dir", dir, "panic", r, "stack", string(debug.Stack()))
			st, err = nil, fmt.Errorf("reading its files failed: %v", r)
		}
	}()
	st, err = openStream(js, dir)
	if err == nil && st.name != filepath.Base(dir) {
		st.close()
		return nil, fmt.Errorf("its configuration names stream %q", st.name)
	}
	return st, err
}

// createStreamDir builds a new stream's directory in tmp/ (configuration,
// and an empty log starting at its first sequence) and renames it into
// place: a crash leaves the stream either whole or absent.
func createStreamDir(js *JetStream, cfg StreamConfig, created time.Time) (string, error) {
	final := filepath.Join(js.dir, cfg.Name)
	if _, err := os.Lstat(final); err == nil {
		return "", errors.New("the stream's directory already exists")
	}
	var tmp string
	var err error
	for range 100 {
		tmp = filepath.Join(js.sideDir("tmp"), "create-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err = store.Disk.Mkdir(tmp, 0o750); !os.IsExist(err) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		store.RemoveAll(tmp)
		return "", err
	}
	st := newStream(js, tmp, cfg, created)
	if err := st.saveMeta(); err != nil {
		return fail(err)
	}
	if cfg.Storage == StorageFile {
		if err := st.openStore(); err != nil {
			return fail(err)
		}
		if cfg.FirstSeq > 1 {
			if err := st.store.TruncateFront(cfg.FirstSeq); err != nil {
				st.store.Close()
				return fail(err)
			}
		}
		if err := st.store.Close(); err != nil {
			return fail(err)
		}
	}
	if err := store.SyncDir(tmp); err != nil {
		return fail(err)
	}
	if err := store.Disk.Rename(tmp, final); err != nil {
		return fail(err)
	}
	if err := store.SyncDir(js.dir); err != nil {
		return final, err
	}
	return final, store.SyncDir(js.sideDir("tmp"))
}

// outOfResources reports whether err is the process or the machine running
// out of file descriptors or memory, which says nothing about the stream
// being opened.
func outOfResources(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOMEM)
}

// openWAL opens a file stream's log; tests replace it to make opening
// fail or panic as a damaged log could.
var openWAL = store.OpenWAL
