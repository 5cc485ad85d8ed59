package jetstore

import (
	"os"
	"path/filepath"

	"github.com/wrenmq/wren/jetstore/store"
)

// Each durable consumer appends to its own state log. As with the stream
// logs (store.SetOpenLogBudget), the state logs kept open at once are
// bounded so that many consumers cannot exhaust file descriptors: past the
// budget, the least recently used logs with nothing waiting for an fsync
// are closed and opened again on their next write.

// openStateFiles is the set of open consumer state logs and their budget.
var openStateFiles = store.NewFileSet()

// LastUse implements store.Parker.
func (l *stateLog) LastUse() uint64 { return l.lastUse.Load() }

// TryPark implements store.Parker.
func (l *stateLog) TryPark() bool { return l.tryPark() }

// tryPark closes l's file if nothing writes to it and nothing written
// waits for an fsync. the set's lock is held.
func (l *stateLog) tryPark() bool {
	if !l.fmu.TryLock() {
		return false
	}
	defer l.fmu.Unlock()
	if l.f == nil || l.dirty {
		return false
	}
	if err := l.f.Close(); err != nil {
		return false
	}
	l.f, l.parked = nil, true
	return true
}

// file returns the log's open file, opening it again if it was parked.
// l.fmu is held.
func (l *stateLog) file() (store.File, error) {
	l.lastUse.Store(openStateFiles.Tick())
	if l.f == nil && l.parked {
		f, err := store.Disk.OpenFile(filepath.Join(l.dir, consumerLogFile), os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, err
		}
		l.f, l.parked = f, false
		openStateFiles.Opened(l)
	} else if openStateFiles.Over() {
		openStateFiles.Trim(l)
	}
	return l.f, nil
}

// setStateFileBudget bounds the consumer state logs open at once by the
// descriptor limit: an eighth of it, beside the stream logs' quarter.
func setStateFileBudget() {
	if n := fdLimit(); n > 0 {
		openStateFiles.SetBudget(max(n/8, 16))
	}
}
