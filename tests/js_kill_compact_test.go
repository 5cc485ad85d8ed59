package tests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The daemon's segments are 2 MiB: messages of 8 KiB fill one in 256.
const killMsgSize = 8 << 10

// killPayload is the body of message id: its id, padded.
func killPayload(id string) []byte {
	b := make([]byte, killMsgSize)
	copy(b, id+"|")
	return b
}

// purgeModel is what stream P holds, as the test knows it: it only
// changes by the test's publishes and purges, one at a time.
type purgeModel struct {
	stored   []uint64          // sequences, in order
	subj     map[uint64]string // sequence -> subject
	inflight []uint64          // the purge requested and not answered: what it removes
	last     uint64            // the stream's last sequence
	// A publish not answered: the sequence it would take, its subject
	// and payload id.
	pubSeq         uint64
	pubSubj, pubID string
}

// covered returns what a purge of req removes from the model.
func (m *purgeModel) covered(kind string, arg uint64) []uint64 {
	var out []uint64
	switch kind {
	case "seq":
		for _, s := range m.stored {
			if s < arg {
				out = append(out, s)
			}
		}
	case "keep":
		if n := len(m.stored); n > int(arg) {
			out = append(out, m.stored[:n-int(arg)]...)
		}
	case "filter":
		for _, s := range m.stored {
			if m.subj[s] == "p.a" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (m *purgeModel) remove(seqs []uint64) {
	m.stored = slices.DeleteFunc(m.stored, func(s uint64) bool { return slices.Contains(seqs, s) })
}

// TestJSKillDuringPurgeAndCompaction kills the daemon with SIGKILL while
// it purges one stream (by sequence, keeping the last messages, by
// subject) and compacts another (max_bytes pushing 8 KiB messages out,
// whole 2 MiB segments reclaimed) under publishing and consumer acks,
// then restarts it on the same store, several times at different points.
// After every restart: the purged stream holds exactly what the
// acknowledged publishes and purges leave, with the purge in flight at
// the kill done entirely or not at all; the compacted stream has no hole,
// holds every acknowledged message max_bytes keeps, each with its
// content, and the consumer's ack floor covers every confirmed ack.
func TestJSKillDuringPurgeAndCompaction(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	const maxBytes = 3 << 20
	var (
		mu       sync.Mutex
		lAcked   = map[uint64]string{} // stream L: seq -> payload id
		lLast    uint64
		ackedTo  uint64 // highest sequence of L whose ack was confirmed
		pm       = &purgeModel{subj: map[uint64]string{}}
		pIDs     = map[uint64]string{}
		purges   int
		ids      int
		restarts int
	)
	nextID := func() string {
		mu.Lock()
		defer mu.Unlock()
		ids++
		return strconv.Itoa(ids)
	}
	rounds := 3
	for round := range rounds + 1 {
		d := startDaemon(t, dir)
		nc, js := daemonJS(t, d)
		ctx := jsCtx(t)
		if round == 0 {
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "L", Subjects: []string{"l.>"}, MaxBytes: maxBytes}); err != nil {
				t.Fatal(err)
			}
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := js.CreateOrUpdateConsumer(ctx, "L", jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
				t.Fatal(err)
			}
		} else {
			restarts++
			checkCompacted(t, ctx, js, round, lAcked, lLast, ackedTo, maxBytes)
			checkPurged(t, ctx, js, round, pm, pIDs)
		}
		checkCorePubSub(t, nc)
		if round == rounds {
			break
		}

		mu.Lock()
		roundStart := len(lAcked)
		mu.Unlock()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		stopped := func() bool {
			select {
			case <-stop:
				return true
			default:
				return false
			}
		}
		// Publish into L, 32 at a time.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped() {
				type sent struct {
					id string
					f  jetstream.PubAckFuture
				}
				var batch []sent
				for range 32 {
					id := nextID()
					f, err := js.PublishAsync("l.x", killPayload(id))
					if err != nil {
						return
					}
					batch = append(batch, sent{id, f})
				}
				for _, s := range batch {
					select {
					case pa := <-s.f.Ok():
						mu.Lock()
						lAcked[pa.Sequence] = s.id
						lLast = max(lLast, pa.Sequence)
						mu.Unlock()
					case <-s.f.Err():
						return
					case <-time.After(10 * time.Second):
						return
					}
				}
			}
		}()
		// Consume L, acking each message, confirmed.
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := js.Consumer(ctx, "L", "C")
			if err != nil {
				return
			}
			for !stopped() {
				batch, err := c.Fetch(16, jetstream.FetchMaxWait(time.Second))
				if err != nil {
					return
				}
				for m := range batch.Messages() {
					md, err := m.Metadata()
					if err != nil {
						return
					}
					actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err = m.DoubleAck(actx)
					cancel()
					if err != nil {
						return
					}
					mu.Lock()
					ackedTo = max(ackedTo, md.Sequence.Stream)
					mu.Unlock()
				}
			}
		}()
		// Publish into P and purge it, one request at a time.
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { <-stop; cancel() }()
			s, err := js.Stream(pctx, "P")
			if err != nil {
				return
			}
			for i := 0; !stopped(); i++ {
				for j := range 24 {
					subj := []string{"p.a", "p.b"}[j%2]
					id := nextID()
					mu.Lock()
					pm.pubSeq, pm.pubSubj, pm.pubID = pm.last+1, subj, id
					mu.Unlock()
					pa, err := js.Publish(pctx, subj, killPayload(id))
					if err != nil {
						return
					}
					mu.Lock()
					pm.pubSeq = 0
					pm.stored = append(pm.stored, pa.Sequence)
					pm.subj[pa.Sequence] = subj
					pIDs[pa.Sequence] = id
					pm.last = pa.Sequence
					mu.Unlock()
				}
				mu.Lock()
				kind := []string{"seq", "keep", "filter"}[i%3]
				var opts []jetstream.StreamPurgeOpt
				var arg uint64
				switch kind {
				case "seq":
					arg = pm.stored[len(pm.stored)/2]
					opts = append(opts, jetstream.WithPurgeSequence(arg))
				case "keep":
					arg = 10
					opts = append(opts, jetstream.WithPurgeKeep(arg))
				case "filter":
					opts = append(opts, jetstream.WithPurgeSubject("p.a"))
				}
				pm.inflight = pm.covered(kind, arg)
				mu.Unlock()
				if err := s.Purge(pctx, opts...); err != nil {
					return
				}
				mu.Lock()
				pm.remove(pm.inflight)
				pm.inflight = nil
				purges++
				mu.Unlock()
			}
		}()
		// The kill lands later in each round, and not before the round
		// has published enough for L to reclaim a segment.
		time.Sleep(time.Duration(300+200*round) * time.Millisecond)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			n := len(lAcked) - roundStart
			mu.Unlock()
			if n >= 300 {
				break
			}
		}
		d.kill()
		close(stop)
		wg.Wait()
		nc.Close()
	}
	segs, _ := os.ReadDir(filepath.Join(dir, "jetstream", "streams", "L", "msgs"))
	if len(segs) == 0 || strings.HasPrefix(segs[0].Name(), "00000000000000000001") {
		t.Fatalf("stream L's log still starts at its first segment (%d files): no compaction happened", len(segs))
	}
	t.Logf("%d restarts; L: %d messages acknowledged up to seq %d, acks confirmed up to %d, log starts at %s; P: %d purges confirmed",
		restarts, len(lAcked), lLast, ackedTo, segs[0].Name(), purges)
}

// checkCompacted checks stream L after a restart.
func checkCompacted(t *testing.T, ctx context.Context, js jetstream.JetStream, round int, acked map[uint64]string, last, ackedTo uint64, maxBytes int) {
	t.Helper()
	s, err := js.Stream(ctx, "L")
	if err != nil {
		t.Fatalf("round %d: stream L: %v", round, err)
	}
	st := s.CachedInfo().State
	if st.LastSeq == 0 {
		t.Fatalf("round %d: L is empty", round)
	}
	if st.LastSeq < last {
		t.Fatalf("round %d: L ends at %d; %d was acknowledged", round, st.LastSeq, last)
	}
	if st.Msgs != st.LastSeq-st.FirstSeq+1 {
		t.Fatalf("round %d: L holds %d messages in %d..%d: a hole", round, st.Msgs, st.FirstSeq, st.LastSeq)
	}
	// max_bytes keeps at least this many of the newest messages.
	keep := uint64(maxBytes/(killMsgSize+64)) - 1
	for seq := st.LastSeq - min(keep, st.LastSeq-1); seq <= st.LastSeq; seq++ {
		id, ok := acked[seq]
		if !ok {
			continue
		}
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("round %d: L message %d, acknowledged and within max_bytes: %v", round, seq, err)
		}
		if got, _, _ := strings.Cut(string(m.Data[:min(len(m.Data), 32)]), "|"); got != id || len(m.Data) != killMsgSize {
			t.Fatalf("round %d: L message %d holds %q (%d bytes); %s was acknowledged there", round, seq, got, len(m.Data), id)
		}
	}
	c, err := js.Consumer(ctx, "L", "C")
	if err != nil {
		t.Fatalf("round %d: consumer C: %v", round, err)
	}
	if f := c.CachedInfo().AckFloor.Stream; f < ackedTo {
		t.Fatalf("round %d: C's ack floor is %d; acks up to %d were confirmed", round, f, ackedTo)
	}
}

// checkPurged checks stream P after a restart against the model, and
// settles what was in flight at the kill.
func checkPurged(t *testing.T, ctx context.Context, js jetstream.JetStream, round int, pm *purgeModel, ids map[uint64]string) {
	t.Helper()
	s, err := js.Stream(ctx, "P")
	if err != nil {
		t.Fatalf("round %d: stream P: %v", round, err)
	}
	st := s.CachedInfo().State
	var present []uint64
	for seq := st.FirstSeq; seq <= st.LastSeq && st.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("round %d: P message %d: %v", round, seq, err)
		}
		if id, ok := ids[seq]; ok {
			if got, _, _ := strings.Cut(string(m.Data[:min(len(m.Data), 32)]), "|"); got != id {
				t.Fatalf("round %d: P message %d holds %q; %s was acknowledged there", round, seq, got, id)
			}
		}
		present = append(present, seq)
	}
	// The publish in flight may have landed.
	if pm.pubSeq != 0 && slices.Contains(present, pm.pubSeq) && !slices.Contains(pm.stored, pm.pubSeq) {
		pm.stored = append(pm.stored, pm.pubSeq)
		pm.subj[pm.pubSeq] = pm.pubSubj
		ids[pm.pubSeq] = pm.pubID
	}
	pm.pubSeq = 0
	pm.last = st.LastSeq
	after := slices.DeleteFunc(slices.Clone(pm.stored), func(s uint64) bool { return slices.Contains(pm.inflight, s) })
	switch {
	case slices.Equal(present, pm.stored):
	case len(pm.inflight) > 0 && slices.Equal(present, after):
		pm.stored = after
	default:
		t.Fatalf("round %d: P holds %v; the acknowledged publishes and purges leave %v (or %v with the purge in flight)", round, fmtSeqs(present), fmtSeqs(pm.stored), fmtSeqs(after))
	}
	pm.inflight = nil
}

func fmtSeqs(s []uint64) string {
	if len(s) > 12 {
		return fmt.Sprintf("%v...%v (%d)", s[:6], s[len(s)-6:], len(s))
	}
	return fmt.Sprint(s)
}
