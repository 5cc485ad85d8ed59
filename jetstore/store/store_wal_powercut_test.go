package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// A power cut keeps what was fsynced and, of what was not, any part: the
// write may be cut short, its pages may reach the disk in any order, and
// a file grown but not yet written reads back as zeros. These tests record
// a log's files after every acknowledged Append, then build the disk
// states a cut during the next write can leave (the record replayed up to
// every prefix, with the in-flight write torn, zeroed and reordered) and
// check that reopening each gives back every acknowledged message, as it
// was stored, and never panics.

// durablePoint is what the disk holds for certain once an Append returned
// under SyncAlways: each segment file's length at that moment.
type durablePoint map[string]int

func segmentSizes(t *testing.T, dir string) durablePoint {
	t.Helper()
	out := durablePoint{}
	for _, p := range segmentPaths(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = int(fi.Size())
	}
	return out
}

// cutState is one disk state after a cut: file name to contents.
type cutState struct {
	name  string
	files map[string][]byte
}

// cutStates returns the states a cut between point a (acknowledged) and
// point b (the next write, unacknowledged) can leave, given the files'
// final contents (every write only appends, so a point is a prefix).
func cutStates(final map[string][]byte, a, b durablePoint) []cutState {
	base := map[string][]byte{}
	for name, n := range a {
		base[name] = final[name][:n]
	}
	clone := func() map[string][]byte {
		m := make(map[string][]byte, len(base))
		for k, v := range base {
			m[k] = append([]byte(nil), v...)
		}
		return m
	}
	states := []cutState{{"nothing of the write", clone()}}
	names := make([]string, 0, len(b))
	for name := range b {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		from, to := a[name], b[name]
		if to <= from {
			continue
		}
		inflight := final[name][from:to]
		half := len(inflight) / 2
		variants := []struct {
			what string
			tail []byte
		}{
			{"nothing written (a new file is empty)", inflight[:0]},
			{"cut at its first byte", inflight[:1]},
			{"cut halfway", inflight[:half]},
			{"cut one byte short", inflight[:len(inflight)-1]},
			{"zeros: grown but not written", make([]byte, len(inflight))},
			{"second half landed, first half zeros", append(make([]byte, half), inflight[half:]...)},
			{"first half landed, second half zeros", append(append([]byte(nil), inflight[:half]...), make([]byte, len(inflight)-half)...)},
			{"whole", inflight},
		}
		for _, v := range variants {
			m := clone()
			m[name] = append(m[name], v.tail...)
			states = append(states, cutState{name + ": " + v.what, m})
		}
	}
	return states
}

func writeState(t *testing.T, dir string, st cutState) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, b := range st.files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// reopenCut opens the store in a state and returns what it holds, or the
// error or panic it failed with.
func reopenCut(t *testing.T, dir string, o Options) (msgs []StoredMsg, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	o.Dir = dir
	s, err := OpenWAL(o)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	err = s.Scan(1, func(m StoredMsg) bool {
		msgs = append(msgs, m)
		return true
	})
	return msgs, err
}

// TestWALPowerCutAtEveryWrite appends batches of one to three messages
// to a log with small segments (so that cuts fall on segment creation
// too), under SyncAlways with and without compression, and checks every
// cut state.
func TestWALPowerCutAtEveryWrite(t *testing.T) {
	for _, comp := range []Compression{CompressNone, CompressS2} {
		t.Run(fmt.Sprint("compression ", comp), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentSize: 600, Compression: comp, Logger: discardLogger()}
			o := opts
			o.Dir = dir
			s, err := OpenWAL(o)
			if err != nil {
				t.Fatal(err)
			}
			var acked []StoredMsg
			points := []durablePoint{segmentSizes(t, dir)}
			ackedAt := []int{0}
			seq := uint64(1)
			for i := range 24 {
				batch := testMsgs(seq, 1+i%3)
				if err := s.Append(batch); err != nil {
					t.Fatal(err)
				}
				seq += uint64(len(batch))
				acked = append(acked, batch...)
				points = append(points, segmentSizes(t, dir))
				ackedAt = append(ackedAt, len(acked))
			}
			s.Close()
			final := map[string][]byte{}
			for _, p := range segmentPaths(t, dir) {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				final[filepath.Base(p)] = b
			}
			states := 0
			for k := 0; k+1 < len(points); k++ {
				for i, st := range cutStates(final, points[k], points[k+1]) {
					states++
					cut := filepath.Join(t.TempDir(), fmt.Sprint(i))
					writeState(t, cut, st)
					got, err := reopenCut(t, cut, opts)
					if err != nil {
						t.Fatalf("cut after write %d, %s: reopening failed: %v", k, st.name, err)
					}
					want := acked[:ackedAt[k]]
					if len(got) < len(want) {
						t.Fatalf("cut after write %d, %s: %d messages; %d were acknowledged", k, st.name, len(got), len(want))
					}
					for j := range want {
						if !sameMsg(got[j], want[j]) {
							t.Fatalf("cut after write %d, %s: message %d = %+v; want %+v", k, st.name, j, got[j], want[j])
						}
					}
					// What more it holds can only be the whole in-flight write.
					if extra := len(got) - len(want); extra != 0 && len(got) != ackedAt[k+1] {
						t.Fatalf("cut after write %d, %s: %d messages; want %d or %d", k, st.name, len(got), ackedAt[k], ackedAt[k+1])
					}
				}
			}
			t.Logf("%d cut states checked", states)
		})
	}
}

// TestWALIntervalRecoversFromReorderedWrites builds what a power cut can
// leave under sync = "interval": a damaged entry in the newest segment
// followed by valid ones (a later page reached the disk, an earlier one
// did not). The log opens with every entry before the damage, and says
// so; under SyncAlways, where that damage was on disk, it refuses.
func TestWALIntervalRecoversFromReorderedWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWAL(Options{Dir: dir, Sync: SyncInterval, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	appendBatches(t, s, 1, 6, 10)
	s.Close()
	path := segmentPaths(t, dir)[0]
	data, _ := os.ReadFile(path)
	starts := frameStarts(t, data)
	// Zero the fourth entry's bytes, as a lost page reads back.
	end := starts[4]
	for i := starts[3]; i < end; i++ {
		data[i] = 0
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	always := t.TempDir()
	writeState(t, always, cutState{files: map[string][]byte{filepath.Base(path): data}})
	if _, err := reopenCut(t, always, Options{Logger: discardLogger()}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("SyncAlways with damage before valid entries: %v; want ErrCorrupt", err)
	}

	logger, buf := captureLogger()
	got, err := reopenCut(t, dir, Options{Sync: SyncInterval, Logger: logger})
	if err != nil {
		t.Fatalf("SyncInterval with damage before valid entries: %v; want it to open", err)
	}
	// The first entry holds the log's first-sequence record only when a
	// truncation wrote one; count the messages of the three whole entries.
	if len(got) == 0 || len(got) > 30 {
		t.Fatalf("%d messages after the cut; want those of the entries before the damage", len(got))
	}
	want := testMsgs(1, len(got))
	for i := range got {
		if !sameMsg(got[i], want[i]) {
			t.Fatalf("message %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	if !strings.Contains(buf.String(), "damaged entry") {
		t.Errorf("no log line about the cut:\n%s", buf.String())
	}
	// Writing resumes after what was kept.
	s, err = OpenWAL(Options{Dir: dir, Sync: SyncInterval, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(testMsgs(uint64(len(got)+1), 1)); err != nil {
		t.Fatalf("Append after the cut: %v", err)
	}
}
