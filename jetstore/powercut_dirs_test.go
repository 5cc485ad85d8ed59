package jetstore

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
)

// These tests run a stream operation (create, delete, purge, compaction)
// on a real store with a recording file system (recFS), then build every
// disk state a power cut at every point of it can leave and open the
// store on each, as the daemon does at start (Open), checking that
// nothing acknowledged before the cut is lost, that an operation in
// flight is either done or not at all, and that start-up cleans up. A
// start that writes to recover is cut again at every point of that
// (powercut_recovery_test.go) and checked the same way.

// maxChoicesPerCut bounds the states tried at one cut point; past it,
// that many are picked with a fixed seed.
const maxChoicesPerCut = 256

type cutRun struct {
	rec     *recFS
	states  int // distinct disk states opened
	cuts    int
	sampled int // cut points with more choices than maxChoicesPerCut
	re      *recutRun
}

// reopen opens the stream layer on dir as the daemon does at start, on a
// fake bus, failing the test if it panics or takes more than 20 s.
func reopen(t *testing.T, dir string, policy SyncPolicy) (*fuzzEnv, error) {
	t.Helper()
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	type result struct {
		js  *JetStream
		err error
		pan any
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- result{pan: r}
			}
		}()
		js, err := Open(e.bus, Config{StoreDir: dir, Sync: policy, Logger: slog.New(slog.DiscardHandler)})
		ch <- result{js: js, err: err}
	}()
	select {
	case r := <-ch:
		if r.pan != nil {
			return nil, fmt.Errorf("open panicked: %v", r.pan)
		}
		e.js = r.js
		return e, r.err
	case <-time.After(20 * time.Second):
		t.Fatalf("opening the store did not finish in 20 s")
		return nil, nil
	}
}

// runCuts records run on the store in dir (what dir holds already is
// durable), then checks every cut of it with check, which gets the
// reopened store and the labels marked before the cut.
func runCuts(t *testing.T, dir string, run func(e *fuzzEnv, mark func(string)), check func(e *fuzzEnv, done map[string]bool) error) cutRun {
	t.Helper()
	return runCutsWith(t, dir, cutOpts{sync: SyncAlways}, run, check)
}

// cutOpts vary runCuts.
type cutOpts struct {
	// aside: the store has a damaged stream; the streams set aside at
	// start are for check to judge.
	aside bool
	// sync is the store's policy, as it runs and as it opens again.
	sync SyncPolicy
}

// runCutsWith is runCuts with opts.
func runCutsWith(t *testing.T, dir string, opts cutOpts, run func(e *fuzzEnv, mark func(string)), check func(e *fuzzEnv, done map[string]bool) error) cutRun {
	t.Helper()
	rec := record(t, dir)
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	js, err := Open(e.bus, Config{StoreDir: dir, Sync: opts.sync, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.js = js
	run(e, rec.mark)
	js.Close()
	rec.stop()
	cr := cutRun{rec: rec, re: newRecutRun()}
	scratch := scratchDir(t)
	for k := 0; k <= len(rec.events); k++ {
		pl := rec.plan(k)
		done := rec.done(k)
		seen := map[string]bool{}
		cr.cuts++
		cs := pl.choices(maxChoicesPerCut)
		if pl.sampled {
			cr.sampled++
		}
		for _, c := range cs {
			dst := filepath.Join(scratch, "s")
			disk, digest, lost := rec.materialise(pl, c)
			if seen[digest] {
				continue
			}
			seen[digest] = true
			disk.write(dst)
			cr.states++
			where := func() string {
				var at string
				if k > 0 {
					at = rec.events[k-1].String()
				}
				return fmt.Sprintf("cut after event %d (%s), not on disk: [%s]", k, at, lost)
			}
			recovery, err := tryState(t, dst, opts, done, check, !cr.re.recorded(digest))
			if err != nil {
				for i, ev := range rec.events[:k] {
					t.Logf("event %d: %s", i+1, ev)
				}
				t.Fatalf("%s: %v", where(), err)
			}
			cr.re.recut(t, scratch, digest, recovery, done, opts, check, where)
		}
	}
	return cr
}

// tryState opens the store on dst as the next start does, runs check on
// it and closes it, each bounded, and checks what the start left: no
// stream set aside (unless opts.aside), tmp/ and trash/ empty. With
// record, it returns what the start wrote to recover (up to the trash
// emptied; check's own writes left out), nil when it wrote nothing.
func tryState(t *testing.T, dst string, opts cutOpts, done map[string]bool, check func(e *fuzzEnv, done map[string]bool) error, record bool) (*recFS, error) {
	t.Helper()
	var rec *recFS
	if record {
		rec = startRecording(dst)
	}
	re, err := reopen(t, dst, opts.sync)
	if err != nil {
		if rec != nil {
			rec.stop()
		}
		return nil, fmt.Errorf("open: %v", err)
	}
	var recovered int
	if rec != nil {
		recovered = rec.recovered(filepath.Join(dst, "jetstream", "trash"))
	}
	cerr := check(re, done)
	if cerr == nil && !opts.aside {
		if bk := re.js.Broken(); len(bk) > 0 {
			cerr = fmt.Errorf("streams set aside: %+v", bk)
		}
	}
	if err := closeBounded(re); err != nil {
		if rec != nil {
			rec.stop()
		}
		return nil, err
	}
	if cerr == nil {
		cerr = sideDirsEmpty(dst)
	}
	if rec == nil {
		return nil, cerr
	}
	rec.stop()
	if cerr != nil {
		return nil, cerr
	}
	rec.events = rec.events[:recovered]
	if !rec.changes() {
		return nil, nil
	}
	return rec, nil
}

// closeBounded closes a reopened store, failing when that takes more
// than 20 s.
func closeBounded(e *fuzzEnv) error {
	closed := make(chan struct{})
	go func() { e.js.Close(); close(closed) }()
	select {
	case <-closed:
		return nil
	case <-time.After(20 * time.Second):
		return fmt.Errorf("closing the store did not finish in 20 s")
	}
}

func (cr cutRun) log(t *testing.T) {
	t.Logf("%d events, %d cut points (%d sampled), %d distinct disk states opened", len(cr.rec.events), cr.cuts, cr.sampled, cr.states)
	cr.re.log(t)
}

// scratchDir returns a directory for the cut states, on tmpfs where
// there is one: opening a store fsyncs, which a disk makes slow and
// which changes nothing here.
func scratchDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "wren-powercut-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// sideDirsEmpty checks that a start and stop left nothing in tmp/ and
// trash/.
func sideDirsEmpty(dir string) error {
	for _, d := range []string{"tmp", "trash"} {
		ents, err := os.ReadDir(filepath.Join(dir, "jetstream", d))
		if err != nil {
			return fmt.Errorf("%s/: %v", d, err)
		}
		if len(ents) > 0 {
			return fmt.Errorf("%s/ still holds %s after a start", d, ents[0].Name())
		}
	}
	return nil
}

// seqsOf returns the sequences stream name holds, or nil when it does
// not exist.
func seqsOf(e *fuzzEnv, name string) ([]uint64, error) {
	st := e.js.lookup(name)
	if st == nil {
		return nil, nil
	}
	var seqs []uint64
	err := st.store.Scan(1, func(m store.StoredMsg) bool {
		seqs = append(seqs, m.Seq)
		return true
	})
	if seqs == nil {
		seqs = []uint64{}
	}
	return seqs, err
}

// checkMsg checks that stream name holds seq with the subject and data
// the tests publish (subject s.<x>, data "m<seq>").
func checkMsg(e *fuzzEnv, name string, seq uint64) error {
	st := e.js.lookup(name)
	if st == nil {
		return fmt.Errorf("stream %s is gone", name)
	}
	m, err := st.store.Load(seq)
	if err != nil {
		return fmt.Errorf("stream %s: acknowledged message %d: %v", name, seq, err)
	}
	if string(m.Data) != "m"+strconv.FormatUint(seq, 10) {
		return fmt.Errorf("stream %s: message %d holds %q", name, seq, m.Data)
	}
	return nil
}

// usable checks that stream name takes a publish and serves it back.
func usable(t *testing.T, e *fuzzEnv, name, subj string) error {
	st := e.js.lookup(name)
	last := st.store.State().LastSeq
	pa := e.publishOneTo(t, subj, nil, []byte("m"+strconv.FormatUint(last+1, 10)))
	if pa.Error != nil || pa.Stream != name || pa.Seq != last+1 {
		return fmt.Errorf("stream %s: publish after the restart: %+v", name, pa)
	}
	return checkMsg(e, name, last+1)
}

// ackFloor returns consumer cname's ack floor, or an error when it is
// gone.
func ackFloor(e *fuzzEnv, name, cname string) (uint64, error) {
	st := e.js.lookup(name)
	if st == nil {
		return 0, fmt.Errorf("stream %s is gone", name)
	}
	c := st.consumer(cname)
	if c == nil {
		return 0, fmt.Errorf("consumer %s of %s is gone", cname, name)
	}
	return c.info("").AckFloor.Stream, nil
}

// publishN publishes n messages to subjects subj(i) of stream name,
// each with data "m<seq>", checking the PubAcks, calling after(seq).
func publishN(t *testing.T, e *fuzzEnv, name string, n int, subj func(i int) string, after func(seq uint64)) {
	t.Helper()
	for i := range n {
		st := e.js.lookup(name)
		next := st.store.State().LastSeq + 1
		pa := e.publishOneTo(t, subj(i), nil, []byte("m"+strconv.FormatUint(next, 10)))
		if pa.Error != nil || pa.Seq != next {
			t.Fatalf("publish %d: %+v", i, pa)
		}
		if after != nil {
			after(pa.Seq)
		}
	}
}

// pullAck pulls n messages of consumer cname of stream name and acks
// the first k of them, each confirmed, calling after with the stream
// sequence of each.
func pullAck(t *testing.T, e *fuzzEnv, name, cname string, n, k int, after func(sseq uint64)) {
	t.Helper()
	e.n++
	inbox := "_INBOX.pull." + strconv.Itoa(e.n)
	listen(t, e.bus, inbox)
	e.bus.Publish(apiPrefix+"CONSUMER.MSG.NEXT."+name+"."+cname, inbox, nil, []byte(fmt.Sprintf(`{"batch":%d,"expires":5000000000}`, n)))
	msgs := e.bus.waitFor(t, inbox, n)
	for _, m := range msgs[:k] {
		e.ackWith(t, m, "+ACK")
		tok := strings.Split(string(m.Reply), ".")
		sseq, err := strconv.ParseUint(tok[len(tok)-4], 10, 64)
		if err != nil {
			t.Fatalf("ack subject %q", m.Reply)
		}
		if after != nil {
			after(sseq)
		}
	}
}

func subjS(i int) string { return "s." + strconv.Itoa(i) }

// TestPowerCutCreate starts an empty store, creates stream S, publishes
// to it, creates a durable consumer and acks: at every cut, S is absent
// or usable, created once its creation was answered, and every PubAck'd
// message and confirmed ack is there.
func TestPowerCutCreate(t *testing.T) {
	dir := t.TempDir()
	cr := runCuts(t, dir, func(e *fuzzEnv, mark func(string)) {
		e.mustOK(t, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
		mark("created")
		publishN(t, e, "S", 3, subjS, func(seq uint64) { mark(fmt.Sprint("pub", seq)) })
		e.mustOK(t, "CONSUMER.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}`)
		mark("consumer")
		pullAck(t, e, "S", "C", 3, 2, func(sseq uint64) { mark(fmt.Sprint("ack", sseq)) })
	}, func(e *fuzzEnv, done map[string]bool) error {
		st := e.js.lookup("S")
		if st == nil {
			if done["created"] {
				return fmt.Errorf("stream S, whose creation was answered, is gone")
			}
			return nil
		}
		for seq := uint64(1); seq <= 3; seq++ {
			if done[fmt.Sprint("pub", seq)] {
				if err := checkMsg(e, "S", seq); err != nil {
					return err
				}
			}
		}
		if done["consumer"] {
			floor, err := ackFloor(e, "S", "C")
			if err != nil {
				return err
			}
			for i := uint64(1); i <= 2; i++ {
				if done[fmt.Sprint("ack", i)] && floor < i {
					return fmt.Errorf("ack floor %d; %d acks were confirmed", floor, i)
				}
			}
		}
		return usable(t, e, "S", "s.after")
	})
	cr.log(t)
}

// seedStreams fills dir with stream S (n messages on s.a / s.b in turn,
// consumer C with acked acks) and stream T (2 messages), and closes it.
func seedStreams(t *testing.T, dir string, n, acked int, cfgS string) {
	t.Helper()
	e := openAt(t, dir)
	e.mustOK(t, "STREAM.CREATE.S", cfgS)
	e.mustOK(t, "STREAM.CREATE.T", `{"name":"T","subjects":["t.>"]}`)
	e.mustOK(t, "CONSUMER.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}`)
	publishN(t, e, "S", n, func(i int) string { return []string{"s.a", "s.b"}[i%2] }, nil)
	publishN(t, e, "T", 2, func(int) string { return "t.x" }, nil)
	if acked > 0 {
		pullAck(t, e, "S", "C", acked, acked, nil)
	}
	e.js.Close()
}

// checkT checks that stream T came through whole.
func checkT(e *fuzzEnv) error {
	for seq := uint64(1); seq <= 2; seq++ {
		if err := checkMsg(e, "T", seq); err != nil {
			return err
		}
	}
	return nil
}

// TestPowerCutDelete deletes stream S beside stream T: at every cut S is
// whole (messages, consumer and its acks) or gone, gone once the delete
// was answered, and T is untouched.
func TestPowerCutDelete(t *testing.T) {
	dir := t.TempDir()
	seedStreams(t, dir, 4, 2, `{"name":"S","subjects":["s.>"]}`)
	cr := runCuts(t, dir, func(e *fuzzEnv, mark func(string)) {
		e.mustOK(t, "STREAM.DELETE.S", ``)
		mark("deleted")
	}, func(e *fuzzEnv, done map[string]bool) error {
		if err := checkT(e); err != nil {
			return err
		}
		seqs, err := seqsOf(e, "S")
		if err != nil {
			return err
		}
		if seqs == nil {
			return nil
		}
		if done["deleted"] {
			return fmt.Errorf("stream S is back after its delete was answered: %v", seqs)
		}
		if !slices.Equal(seqs, []uint64{1, 2, 3, 4}) {
			return fmt.Errorf("stream S came back partly: %v", seqs)
		}
		if floor, err := ackFloor(e, "S", "C"); err != nil || floor < 2 {
			return fmt.Errorf("stream S came back without its consumer's acks: floor %d, %v", floor, err)
		}
		return usable(t, e, "S", "s.after")
	})
	cr.log(t)
}

// smallSegments makes the stream logs opened until the test ends start a
// new segment every size bytes, so that purges and limits reclaim
// segments (compaction) in a small case.
func smallSegments(t *testing.T, size int) {
	prev := openWAL
	openWAL = func(o store.Options) (store.Store, error) {
		o.SegmentSize = size
		return prev(o)
	}
	t.Cleanup(func() { openWAL = prev })
}

// TestPowerCutPurge purges stream S (8 messages on s.a / s.b, a consumer
// with acks) in each way the API offers, with segments small enough that
// the purge reclaims some, then publishes once more: at every cut S holds
// exactly what it held before the purge or exactly what the purge keeps
// (what it keeps never comes back with holes), the purge's result once
// it was answered, and the message published after it once PubAck'd.
// Under sync = "interval" the answered purge and publish may be undone,
// but the purge is still all or nothing.
func TestPowerCutPurge(t *testing.T) {
	const n = 8
	all := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	cases := []struct {
		name, req string
		keep      []uint64
	}{
		{"all", `{}`, nil},
		{"filter", `{"filter":"s.a"}`, []uint64{2, 4, 6, 8}},
		{"keep", `{"keep":3}`, []uint64{6, 7, 8}},
		{"filter_keep", `{"filter":"s.b","keep":1}`, []uint64{1, 3, 5, 7, 8}},
		{"seq", `{"seq":5}`, []uint64{5, 6, 7, 8}},
	}
	total := 0
	for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
		for _, tc := range cases {
			t.Run(policy.String()+"/"+tc.name, func(t *testing.T) {
				smallSegments(t, 80)
				dir := t.TempDir()
				seedStreams(t, dir, n, 2, `{"name":"S","subjects":["s.>"]}`)
				// Under interval an answered purge and publish may be undone
				// by a power cut; a purge is still done entirely or not.
				durable := policy == SyncAlways
				cr := runCutsWith(t, dir, cutOpts{sync: policy}, func(e *fuzzEnv, mark func(string)) {
					e.mustOK(t, "STREAM.PURGE.S", tc.req)
					mark("purged")
					publishN(t, e, "S", 1, func(int) string { return "s.c" }, func(uint64) { mark("pub") })
				}, func(e *fuzzEnv, done map[string]bool) error {
					if err := checkT(e); err != nil {
						return err
					}
					seqs, err := seqsOf(e, "S")
					if err != nil {
						return fmt.Errorf("stream S: %v", err)
					}
					if seqs == nil {
						return fmt.Errorf("stream S is gone")
					}
					if i := slices.Index(seqs, n+1); i >= 0 {
						seqs = seqs[:i]
					} else if done["pub"] && durable {
						return fmt.Errorf("message %d, PubAck'd, is gone: %v", n+1, seqs)
					}
					keep := tc.keep
					if keep == nil {
						keep = []uint64{}
					}
					switch {
					case slices.Equal(seqs, keep):
					case slices.Equal(seqs, all) && (!done["purged"] || !durable):
					default:
						return fmt.Errorf("stream S holds %v; before the purge %v, after it %v (answered: %v)", seqs, all, keep, done["purged"])
					}
					for _, seq := range seqs {
						if err := checkMsg(e, "S", seq); err != nil {
							return err
						}
					}
					if _, err := ackFloor(e, "S", "C"); err != nil {
						return err
					}
					return usable(t, e, "S", "s.after")
				})
				cr.log(t)
				total += cr.states
			})
		}
	}
	t.Logf("%d disk states opened in all", total)
}

// TestPowerCutCompaction publishes into a stream limited to 3 messages,
// with segments small enough that nearly every publish reclaims one,
// while a consumer acks: at every cut the stream holds a run of
// consecutive messages without holes that includes the last 3 PubAck'd
// (or all of them, when fewer), and the ack floor covers every confirmed
// ack.
func TestPowerCutCompaction(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
		t.Run(policy.String(), func(t *testing.T) { powerCutCompaction(t, policy) })
	}
}

// powerCutCompaction is TestPowerCutCompaction under policy. Under
// interval a power cut may undo what was answered since the last fsync:
// the stream may go back to an earlier state, without holes, and acks
// may be undone.
func powerCutCompaction(t *testing.T, policy SyncPolicy) {
	smallSegments(t, 100)
	dir := t.TempDir()
	seedStreams(t, dir, 2, 0, `{"name":"S","subjects":["s.>"],"max_msgs":3}`)
	const pubs = 8
	durable := policy == SyncAlways
	cr := runCutsWith(t, dir, cutOpts{sync: policy}, func(e *fuzzEnv, mark func(string)) {
		publishN(t, e, "S", pubs, func(i int) string { return "s.c" }, func(seq uint64) {
			mark(fmt.Sprint("pub", seq))
			if seq%2 == 0 {
				pullAck(t, e, "S", "C", 1, 1, func(sseq uint64) { mark(fmt.Sprint("ack", sseq)) })
			}
		})
	}, func(e *fuzzEnv, done map[string]bool) error {
		if err := checkT(e); err != nil {
			return err
		}
		seqs, err := seqsOf(e, "S")
		if err != nil {
			return fmt.Errorf("stream S: %v", err)
		}
		if seqs == nil {
			return fmt.Errorf("stream S is gone")
		}
		var last uint64 = 2
		for seq := uint64(3); seq <= 2+pubs; seq++ {
			if done[fmt.Sprint("pub", seq)] {
				last = seq
			}
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] != seqs[i-1]+1 {
				return fmt.Errorf("stream S has a hole: %v", seqs)
			}
		}
		// A message max_msgs pushed out may go; the last 3 may not. The
		// message in flight at the cut may have pushed one out already.
		top := last
		if len(seqs) > 0 {
			top = max(top, seqs[len(seqs)-1])
		}
		for seq := uint64(1); seq <= last && durable; seq++ {
			if seq+3 > top && !slices.Contains(seqs, seq) {
				return fmt.Errorf("stream S holds %v; message %d, PubAck'd and among the last 3, is gone", seqs, seq)
			}
		}
		if len(seqs) > 4 {
			return fmt.Errorf("stream S holds %v, over max_msgs 3 with one in flight", seqs)
		}
		for _, seq := range seqs {
			if err := checkMsg(e, "S", seq); err != nil {
				return err
			}
		}
		floor, err := ackFloor(e, "S", "C")
		if err != nil {
			return err
		}
		for l := range done {
			if a, ok := strings.CutPrefix(l, "ack"); ok && durable {
				if sseq, _ := strconv.ParseUint(a, 10, 64); floor < sseq {
					return fmt.Errorf("ack floor %d; the ack of message %d was confirmed", floor, sseq)
				}
			}
		}
		return usable(t, e, "S", "s.after")
	})
	cr.log(t)
	if n := cr.segmentsRemoved("S"); n == 0 {
		t.Fatal("no segment of S was reclaimed: the test needs compaction")
	} else {
		t.Logf("%d segments reclaimed", n)
	}
}

// segmentsRemoved counts the log segments of stream name removed during
// the recording.
func (cr cutRun) segmentsRemoved(name string) int {
	n := 0
	for _, ev := range cr.rec.events {
		if ev.kind == evRemove && !ev.ext && filepath.Dir(ev.path) == filepath.Join("jetstream", "streams", name, "msgs") {
			n++
		}
	}
	return n
}

// TestPowerCutConsumerDelete deletes durable consumer C of stream S
// beside consumer D: at every cut C is whole (its acks there) or gone,
// gone once the delete was answered, and S and D are untouched.
func TestPowerCutConsumerDelete(t *testing.T) {
	dir := t.TempDir()
	seedStreams(t, dir, 4, 2, `{"name":"S","subjects":["s.>"]}`)
	e := openAt(t, dir)
	e.mustOK(t, "CONSUMER.CREATE.S.D", `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"}}`)
	pullAck(t, e, "S", "D", 3, 3, nil)
	e.js.Close()
	cr := runCuts(t, dir, func(e *fuzzEnv, mark func(string)) {
		e.mustOK(t, "CONSUMER.DELETE.S.C", ``)
		mark("deleted")
	}, func(e *fuzzEnv, done map[string]bool) error {
		if err := checkT(e); err != nil {
			return err
		}
		for seq := uint64(1); seq <= 4; seq++ {
			if err := checkMsg(e, "S", seq); err != nil {
				return err
			}
		}
		if floor, err := ackFloor(e, "S", "D"); err != nil || floor < 3 {
			return fmt.Errorf("consumer D: floor %d, %v; 3 acks were confirmed", floor, err)
		}
		st := e.js.lookup("S")
		if st.consumer("C") == nil {
			return nil
		}
		if done["deleted"] {
			return fmt.Errorf("consumer C is back after its delete was answered")
		}
		if floor, err := ackFloor(e, "S", "C"); err != nil || floor < 2 {
			return fmt.Errorf("consumer C came back without its acks: floor %d, %v", floor, err)
		}
		return nil
	})
	cr.log(t)
}

// TestPowerCutConsumerStateCompaction acks messages of a consumer one at
// a time, confirmed, with the state log compacted (snapshot written, log
// started again) every few records: at every cut the ack floor covers
// every confirmed ack.
func TestPowerCutConsumerStateCompaction(t *testing.T) {
	prev := compactAt
	compactAt = 40
	t.Cleanup(func() { compactAt = prev })
	dir := t.TempDir()
	seedStreams(t, dir, 6, 0, `{"name":"S","subjects":["s.>"]}`)
	cr := runCuts(t, dir, func(e *fuzzEnv, mark func(string)) {
		pullAck(t, e, "S", "C", 6, 6, func(sseq uint64) { mark(fmt.Sprint("ack", sseq)) })
	}, func(e *fuzzEnv, done map[string]bool) error {
		floor, err := ackFloor(e, "S", "C")
		if err != nil {
			return err
		}
		for seq := uint64(1); seq <= 6; seq++ {
			if done[fmt.Sprint("ack", seq)] && floor < seq {
				return fmt.Errorf("ack floor %d; the ack of %d was confirmed", floor, seq)
			}
			if err := checkMsg(e, "S", seq); err != nil {
				return err
			}
		}
		return nil
	})
	snaps := 0
	for _, ev := range cr.rec.events {
		if ev.kind == evRename && strings.HasSuffix(ev.to, consumerSnapFile) {
			snaps++
		}
	}
	if snaps < 2 {
		t.Fatalf("the state was snapshotted %d times; the test needs compactions", snaps)
	}
	cr.log(t)
	t.Logf("%d snapshots", snaps)
}

// TestPowerCutSetAside starts a store whose stream S lost its
// configuration, which start moves into broken/: at every cut S is never
// served, T is, and S's directory is either set aside again at the next
// start, with its reason, or found in broken/ whole.
func TestPowerCutSetAside(t *testing.T) {
	dir := t.TempDir()
	seedStreams(t, dir, 4, 2, `{"name":"S","subjects":["s.>"]}`)
	if err := os.Remove(filepath.Join(streamsDir(dir), "S", "stream.json")); err != nil {
		t.Fatal(err)
	}
	cr := runCutsWith(t, dir, cutOpts{aside: true, sync: SyncAlways}, func(e *fuzzEnv, mark func(string)) {
		if bk := e.js.Broken(); len(bk) != 1 || bk[0].Name != "S" {
			t.Fatalf("set aside: %+v", bk)
		}
	}, func(e *fuzzEnv, done map[string]bool) error {
		if err := checkT(e); err != nil {
			return err
		}
		if e.js.lookup("S") != nil {
			return fmt.Errorf("stream S, without its configuration, is served")
		}
		root := filepath.Dir(e.js.dir)
		if _, err := os.Stat(filepath.Join(e.js.dir, "S")); err == nil {
			return fmt.Errorf("S's directory is still in streams/ after a start")
		}
		ents, _ := os.ReadDir(filepath.Join(root, "broken"))
		var whole int
		for _, d := range ents {
			if !strings.HasPrefix(d.Name(), "S.") {
				continue
			}
			segs, _ := os.ReadDir(filepath.Join(root, "broken", d.Name(), "msgs"))
			cons, _ := os.ReadDir(filepath.Join(root, "broken", d.Name(), "consumers", "C"))
			if len(segs) > 0 && len(cons) >= 3 {
				whole++
			}
		}
		if whole != 1 {
			return fmt.Errorf("broken/ holds %d whole copies of S (%d entries); want 1", whole, len(ents))
		}
		bk := e.js.Broken()
		if len(bk) > 1 {
			return fmt.Errorf("more than S set aside: %+v", bk)
		}
		if len(bk) > 0 && (bk[0].Name != "S" || bk[0].Reason == "" || bk[0].MovedTo == "") {
			return fmt.Errorf("set aside without a reason or place: %+v", bk)
		}
		return nil
	})
	cr.log(t)
}

// TestPowerCutWorkQueueAcks acks the messages of a work-queue stream one
// at a time, confirmed, each ack removing its message, with segments
// small enough that the removals reclaim some: at every cut no message
// whose ack was confirmed is served again (it is gone, or below the ack
// floor), and every message not acked is there.
func TestPowerCutWorkQueueAcks(t *testing.T) {
	smallSegments(t, 100)
	dir := t.TempDir()
	const n = 6
	seedStreams(t, dir, 0, 0, `{"name":"S","subjects":["s.>"]}`)
	e := openAt(t, dir)
	e.mustOK(t, "STREAM.CREATE.W", `{"name":"W","subjects":["w.>"],"retention":"workqueue"}`)
	e.mustOK(t, "CONSUMER.CREATE.W.C", `{"stream_name":"W","config":{"durable_name":"C","ack_policy":"explicit"}}`)
	publishN(t, e, "W", n, func(int) string { return "w.x" }, nil)
	e.js.Close()
	cr := runCuts(t, dir, func(e *fuzzEnv, mark func(string)) {
		pullAck(t, e, "W", "C", n, n-1, func(sseq uint64) { mark(fmt.Sprint("ack", sseq)) })
	}, func(e *fuzzEnv, done map[string]bool) error {
		seqs, err := seqsOf(e, "W")
		if err != nil || seqs == nil {
			return fmt.Errorf("stream W: %v, %v", seqs, err)
		}
		floor, err := ackFloor(e, "W", "C")
		if err != nil {
			return err
		}
		for seq := uint64(1); seq <= n; seq++ {
			acked := done[fmt.Sprint("ack", seq)]
			has := slices.Contains(seqs, seq)
			switch {
			case acked && has && floor < seq:
				return fmt.Errorf("message %d, its ack confirmed, is stored (%v) and above the ack floor %d: served again", seq, seqs, floor)
			case !acked && !has && seq == n:
				return fmt.Errorf("message %d, never acked, is gone: %v", seq, seqs)
			}
			if has {
				if err := checkMsg(e, "W", seq); err != nil {
					return err
				}
			}
		}
		return nil
	})
	cr.log(t)
	t.Logf("%d segments reclaimed", cr.segmentsRemoved("W"))
}
