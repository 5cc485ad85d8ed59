package store

import (
	"sort"
	"sync"
	"sync/atomic"
)

// FileSet bounds how many holders of a file keep it open at once, so that
// many streams and consumers, most of them idle, cannot exhaust the file
// descriptors. Past the budget, a holder opening its file closes the least
// recently used idle others (TryPark); each opens its file again on its
// next use. The stream logs (store_wal_park.go) and the consumer state
// logs use one each, with budgets of their own.
type FileSet struct {
	mu  sync.Mutex
	set map[Parker]struct{}
	// n and max mirror len(set) and the budget (0: no bound) for the
	// check on every use, made without mu.
	n, max atomic.Int64
	tick   atomic.Uint64 // orders the holders' uses
}

// Parker is a holder of a file in a FileSet.
type Parker interface {
	// LastUse returns the Tick of the holder's last use.
	LastUse() uint64
	// TryPark closes the holder's file if nothing uses it and nothing
	// written to it waits for an fsync, and reports whether it did. It is
	// called with the set's lock held, from another holder's use, so it
	// must only try the holder's locks, never wait for them.
	TryPark() bool
}

// NewFileSet returns an empty set without a budget.
func NewFileSet() *FileSet {
	return &FileSet{set: make(map[Parker]struct{})}
}

// SetBudget bounds the files open at once; 0 lifts the bound.
func (o *FileSet) SetBudget(n int) { o.max.Store(int64(max(n, 0))) }

// Open returns how many files are open.
func (o *FileSet) Open() int { return int(o.n.Load()) }

// Tick returns the next use stamp, for a holder's LastUse.
func (o *FileSet) Tick() uint64 { return o.tick.Add(1) }

// Over reports whether more files are open than the budget allows.
func (o *FileSet) Over() bool {
	m := o.max.Load()
	return m > 0 && o.n.Load() > m
}

// Opened counts p's file as open and parks others past the budget.
func (o *FileSet) Opened(p Parker) {
	o.mu.Lock()
	o.set[p] = struct{}{}
	o.n.Store(int64(len(o.set)))
	o.mu.Unlock()
	if o.Over() {
		o.Trim(p)
	}
}

// Closed forgets p's file.
func (o *FileSet) Closed(p Parker) {
	o.mu.Lock()
	delete(o.set, p)
	o.n.Store(int64(len(o.set)))
	o.mu.Unlock()
}

// Trim parks the least recently used idle holders other than p until the
// budget holds or every other holder is busy. The others are only tried,
// never waited for, so no lock order between holders arises.
func (o *FileSet) Trim(p Parker) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := int(o.max.Load())
	if m <= 0 || len(o.set) <= m {
		return
	}
	cands := make([]Parker, 0, len(o.set))
	for c := range o.set {
		if c != p {
			cands = append(cands, c)
		}
	}
	// sort.Slice, not slices.SortFunc: a generic sort over this
	// interface would add about 6 KB of code for a call made rarely.
	sort.Slice(cands, func(i, j int) bool { return cands[i].LastUse() < cands[j].LastUse() })
	for _, c := range cands {
		if len(o.set) <= m {
			break
		}
		if c.TryPark() {
			delete(o.set, c)
		}
	}
	o.n.Store(int64(len(o.set)))
}
