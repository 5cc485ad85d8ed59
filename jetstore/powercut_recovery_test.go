package jetstore

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// A start after a power cut writes too: it finishes an interrupted
// segment reclaim, empties tmp/ and trash/, sets a damaged stream aside
// into broken/, repairs and cuts back a log's tail, repairs a consumer's
// state. The power may go again while it does. For every disk state a
// first cut leaves whose next start writes anything, runCuts records
// that start (Open, up to the trash emptied, through the same recorder),
// builds every disk state a second cut at each point of it can leave,
// and opens the store on each with the same check as after the first
// cut: what was acknowledged before the first cut is still there, an
// operation in flight is done or not, nothing whole is set aside, and
// start-up still cleans up.

// maxChoicesPerRecut bounds the states tried at one point of a
// recovery; past it, that many are picked with a fixed seed.
const maxChoicesPerRecut = 16

// recutRun counts the second cuts of a cutRun.
type recutRun struct {
	recordings map[string]*recFS // first state's digest -> its recovery, nil if it wrote nothing
	cutAgain   map[string]bool   // first states cut again, by digest and labels
	tried      map[string]bool   // second states opened, by digest and labels
	recovering int               // first states whose recovery writes
	events     int               // events of those recoveries
	cuts       int
	sampled    int
	states     int
}

func newRecutRun() *recutRun {
	return &recutRun{recordings: map[string]*recFS{}, cutAgain: map[string]bool{}, tried: map[string]bool{}}
}

// recorded reports whether the recovery of the state with digest was
// recorded already.
func (rc *recutRun) recorded(digest string) bool {
	_, ok := rc.recordings[digest]
	return ok
}

// recovered waits until the start being recorded has emptied trash (it
// does so in the background) and returns how many events it has logged.
func (r *recFS) recovered(trash string) int {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ents, err := os.ReadDir(trash); err != nil || len(ents) == 0 {
			break
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scan()
	return len(r.events)
}

// changes reports whether the recording changed anything on disk, not
// only fsynced it.
func (r *recFS) changes() bool {
	for _, ev := range r.events {
		switch ev.kind {
		case evMkdir, evCreate, evWrite, evRename, evRemove:
			return true
		}
	}
	return false
}

// doneKey names a set of labels, for deduplication.
func doneKey(done map[string]bool) string {
	var ls []string
	for l := range done {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return strings.Join(ls, ",")
}

// recut cuts the power again at every point of the recovery of the first
// cut's state with digest (rec its recording when it was just made, done
// what was acknowledged before that cut), and checks each state that
// leaves with check. first describes the first cut.
func (rc *recutRun) recut(t *testing.T, scratch, digest string, rec *recFS, done map[string]bool, opts cutOpts, check func(e *fuzzEnv, done map[string]bool) error, first func() string) {
	t.Helper()
	if !rc.recorded(digest) {
		rc.recordings[digest] = rec
		if rec != nil {
			rc.recovering++
			rc.events += len(rec.events)
		}
	}
	r := rc.recordings[digest]
	labels := doneKey(done)
	if r == nil || rc.cutAgain[digest+"|"+labels] {
		return
	}
	rc.cutAgain[digest+"|"+labels] = true
	// A cut before the recovery's first event leaves the first state.
	for k := 1; k <= len(r.events); k++ {
		pl := r.plan(k)
		rc.cuts++
		cs := pl.choices(maxChoicesPerRecut)
		if pl.sampled {
			rc.sampled++
		}
		for _, c := range cs {
			disk, digest2, lost := r.materialise(pl, c)
			key := digest2 + "|" + labels
			if digest2 == digest || rc.tried[key] {
				continue
			}
			rc.tried[key] = true
			dst := filepath.Join(scratch, "s2")
			disk.write(dst)
			rc.states++
			if _, err := tryState(t, dst, opts, done, check, false); err != nil {
				for i, ev := range r.events[:k] {
					t.Logf("recovery event %d: %s", i+1, ev)
				}
				t.Fatalf("%s; then a cut of the next start after its event %d (%s), not on disk: [%s]: %v", first(), k, r.events[k-1], lost, err)
			}
		}
	}
}

func (rc *recutRun) log(t *testing.T) {
	t.Logf("second cuts: %d of %d distinct first states change the disk at start (%d events), %d cut points (%d sampled), %d distinct disk states opened", rc.recovering, len(rc.recordings), rc.events, rc.cuts, rc.sampled, rc.states)
}
