package jetstore

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wrenmq/wren/jetstore/store"
)

// Each durable consumer appends to its own state log. As with the stream
// logs (store.SetOpenLogBudget), the state logs kept open at once are
// bounded so that many consumers cannot exhaust file descriptors: past the
// budget, the least recently used logs with nothing waiting for an fsync
// are closed and opened again on their next write.

// stateFiles is the set of open consumer state logs and their budget.
type stateFiles struct {
	mu     sync.Mutex
	set    map[*stateLog]struct{}
	n, max atomic.Int64 // len(set) and the budget (0: no bound), read without mu
	tick   atomic.Uint64
}

var openStateFiles = &stateFiles{set: map[*stateLog]struct{}{}}

func (o *stateFiles) over() bool {
	m := o.max.Load()
	return m > 0 && o.n.Load() > m
}

// opened counts l's file as open and closes idle others past the
// budget. l.fmu is held.
func (o *stateFiles) opened(l *stateLog) {
	l.lastUse.Store(o.tick.Add(1))
	o.mu.Lock()
	o.set[l] = struct{}{}
	o.n.Store(int64(len(o.set)))
	o.mu.Unlock()
	if o.over() {
		o.trim(l)
	}
}

// closed forgets l's file.
func (o *stateFiles) closed(l *stateLog) {
	o.mu.Lock()
	delete(o.set, l)
	o.n.Store(int64(len(o.set)))
	o.mu.Unlock()
}

// trim closes the least recently used idle files other than l's until
// the budget holds. l.fmu is held; the others are only tried.
func (o *stateFiles) trim(l *stateLog) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := int(o.max.Load())
	cands := make([]*stateLog, 0, len(o.set))
	for c := range o.set {
		if c != l {
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b *stateLog) int { return cmp.Compare(a.lastUse.Load(), b.lastUse.Load()) })
	for _, c := range cands {
		if len(o.set) <= m {
			break
		}
		if c.tryPark() {
			delete(o.set, c)
		}
	}
	o.n.Store(int64(len(o.set)))
}

// tryPark closes l's file if nothing writes to it and nothing written
// waits for an fsync. openStateFiles.mu is held.
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
	l.lastUse.Store(openStateFiles.tick.Add(1))
	if l.f == nil && l.parked {
		f, err := store.Disk.OpenFile(filepath.Join(l.dir, consumerLogFile), os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, err
		}
		l.f, l.parked = f, false
		openStateFiles.opened(l)
	} else if openStateFiles.over() {
		openStateFiles.trim(l)
	}
	return l.f, nil
}

// setStateFileBudget bounds the consumer state logs open at once by the
// descriptor limit: an eighth of it, beside the stream logs' quarter.
func setStateFileBudget() {
	if n := fdLimit(); n > 0 {
		openStateFiles.max.Store(int64(max(n/8, 16)))
	}
}
