package store

import (
	"sync/atomic"

	"github.com/tidwall/wal"
)

// An open log holds a file descriptor (its newest segment) and up to two
// segments' worth of memory. A gateway with many streams, most of them
// idle, would run out of descriptors if every log stayed open, so the
// logs open at once are bounded: past the budget, opening one parks the
// least recently used idle log (closes it; its in-memory index stays) and
// the next read or write of a parked log opens it again. A log with
// writes not yet fsynced, or a failed one, is never parked.

// openLogs is the set of open logs and their budget: a FileSet of
// *walStore.
type openLogs struct{ *FileSet }

var (
	logs    = openLogs{NewFileSet()}
	useTick atomic.Uint64 // orders the logs' uses
)

// SetOpenLogBudget bounds the logs kept open at once; 0 lifts the bound.
// The stream layer sets it from the file descriptor limit.
func SetOpenLogBudget(n int) { logs.SetBudget(n) }

// OpenLogs returns how many logs are open.
func OpenLogs() int { return logs.Open() }

func (o openLogs) over() bool { return o.Over() }

// opened counts s's log as open and parks others past the budget.
func (o openLogs) opened(s *walStore) { o.Opened(s) }

// trim parks the least recently used idle logs other than s until the
// budget holds or every other log is busy. The caller holds s.lmu and
// s.wmu or s.rmu; other logs are only tried, never waited for.
func (o openLogs) trim(s *walStore) { o.Trim(s) }

// closed forgets s's log.
func (o openLogs) closed(s *walStore) { o.Closed(s) }

// LastUse implements Parker.
func (s *walStore) LastUse() uint64 { return s.lastUse.Load() }

// TryPark implements Parker.
func (s *walStore) TryPark() bool { return s.tryPark() }

// tryPark closes s's log if nothing uses it and nothing of it waits for an
// fsync. logs.mu is held.
func (s *walStore) tryPark() bool {
	if !s.wmu.TryLock() {
		return false
	}
	defer s.wmu.Unlock()
	if !s.rmu.TryLock() {
		return false
	}
	defer s.rmu.Unlock()
	if !s.lmu.TryLock() {
		return false
	}
	defer s.lmu.Unlock()
	if s.log == nil || s.w.dirty || s.w.failed != nil || s.w.torn {
		return false
	}
	if err := Disk.SyncWith(s.opts.Dir, s.log.Close); err != nil {
		return false
	}
	s.log = nil
	s.w.syncOf, s.w.syncFn = nil, nil
	return true
}

// useLog returns s's log, opening it again if it was parked. The caller
// holds s.wmu or s.rmu, which keeps it from being parked while in use.
func (s *walStore) useLog() (*wal.Log, error) {
	s.lastUse.Store(useTick.Add(1))
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.log != nil {
		if logs.over() {
			logs.trim(s)
		}
		return s.log, nil
	}
	// A reclaim that failed half way is finished durably here rather
	// than by wal.Open, which would not fsync the directory.
	if err := finishReclaim(s.opts.Dir); err != nil {
		return nil, err
	}
	l, err := wal.Open(s.opts.Dir, walOptions(s.opts))
	if err != nil {
		return nil, err
	}
	s.log = l
	logs.opened(s)
	return l, nil
}
