package tests

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// streamContents reads every stored message of s and counts them per
// subject.
func streamContents(t testing.TB, s jetstream.Stream) (first, last uint64, subjects map[string]uint64, msgs uint64) {
	t.Helper()
	info := mustInfo(t, s)
	first, last = info.State.FirstSeq, info.State.LastSeq
	subjects = make(map[string]uint64)
	for seq := first; seq <= last; seq++ {
		m, err := s.GetMsg(jsCtx(t), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("GetMsg(%d): %v", seq, err)
		}
		if seq == first && m.Sequence != first {
			t.Fatalf("first_seq %d is not stored", first)
		}
		subjects[m.Subject]++
		msgs++
	}
	return first, last, subjects, msgs
}

// checkIndexes fails unless the stream's reported state and per-subject
// counts agree with the messages it actually returns.
func checkIndexes(t testing.TB, s jetstream.Stream, perSubject uint64) {
	t.Helper()
	first, last, subjects, msgs := streamContents(t, s)
	info := mustInfo(t, s, jetstream.WithSubjectFilter(">"))
	st := info.State
	if st.FirstSeq != first || st.LastSeq != last {
		t.Fatalf("state moved while reading: %d..%d, then %d..%d", first, last, st.FirstSeq, st.LastSeq)
	}
	if st.Msgs != msgs {
		t.Errorf("messages = %d; %d are stored", st.Msgs, msgs)
	}
	if st.NumSubjects != uint64(len(subjects)) {
		t.Errorf("num_subjects = %d; %d subjects are stored", st.NumSubjects, len(subjects))
	}
	if msgs > 0 {
		if want := int(last - first + 1 - msgs); st.NumDeleted != want {
			t.Errorf("num_deleted = %d; want %d", st.NumDeleted, want)
		}
	}
	if len(st.Subjects) != 0 || len(subjects) != 0 {
		if !reflect.DeepEqual(st.Subjects, subjects) {
			t.Errorf("subjects = %v; stored %v", st.Subjects, subjects)
		}
	}
	for subj, n := range subjects {
		if perSubject > 0 && n > perSubject {
			t.Errorf("%s holds %d messages; max_msgs_per_subject is %d", subj, n, perSubject)
		}
	}
}

// TestJSStreamIndexesUnderChurn publishes from several clients while
// others delete, purge and update the stream, then checks that the
// stream's counters and subject index agree with what it stores, before
// and after a restart.
func TestJSStreamIndexesUnderChurn(t *testing.T) {
	const (
		publishers = 4
		adminOps   = 100
		subjects   = 40
		perSubject = 12
	)
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			dir := t.TempDir()
			j := startJS(t, dir)
			_, admin := jsConnect(t, j)
			cfg := jetstream.StreamConfig{
				Name: "MIX", Subjects: []string{"mix.>"}, Storage: storage,
				MaxMsgsPerSubject: perSubject, MaxMsgs: 400, AllowMsgTTL: true,
			}
			s := mustCreate(t, admin, cfg)

			// Publishers run until the admin client has done its operations.
			var wg sync.WaitGroup
			stop := make(chan struct{})
			errs := make(chan error, publishers+1)
			published := make([]int, publishers)
			for p := range publishers {
				nc, _ := jsConnect(t, j)
				js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(64))
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() {
						select {
						case <-js.PublishAsyncComplete():
						case <-time.After(testTimeout):
							errs <- fmt.Errorf("publisher %d: acks pending", p)
						}
					}()
					rng := rand.New(rand.NewPCG(uint64(p), 7))
					for i := 0; ; i++ {
						select {
						case <-stop:
							published[p] = i
							return
						default:
						}
						opts := []jetstream.PublishOpt{jetstream.WithStallWait(testTimeout)}
						switch rng.IntN(8) {
						case 0:
							opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("id-%d", rng.IntN(50))))
						case 1:
							opts = append(opts, jetstream.WithMsgTTL(time.Hour))
						}
						subj := fmt.Sprintf("mix.%d", rng.IntN(subjects))
						if _, err := js.PublishAsync(subj, fmt.Appendf(nil, "%d-%d", p, i), opts...); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			ctx := jsCtx(t)
			rng := rand.New(rand.NewPCG(99, 1))
			for k := range adminOps {
				info, err := s.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				last := info.State.LastSeq
				switch k % 5 {
				case 0, 1:
					if last > 0 {
						s.DeleteMsg(ctx, 1+rng.Uint64N(last)) // may be gone already
					}
				case 2:
					err = s.Purge(ctx, jetstream.WithPurgeSubject(fmt.Sprintf("mix.%d", rng.IntN(subjects))), jetstream.WithPurgeKeep(2))
				case 3:
					err = s.Purge(ctx, jetstream.WithPurgeKeep(300))
				case 4:
					c := cfg
					c.MaxMsgsPerSubject = perSubject - int64(k%3)
					_, err = admin.UpdateStream(ctx, c)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Logf("%d admin operations during %v publishes", adminOps, published)
			checkIndexes(t, s, perSubject)
			before := mustInfo(t, s, jetstream.WithSubjectFilter(">"))

			j.stop()
			j = startJS(t, dir)
			_, admin = jsConnect(t, j)
			s = mustStream(t, admin, "MIX")
			if storage == jetstream.MemoryStorage {
				wantState(t, s, stateSummary{})
				return
			}
			after := mustInfo(t, s, jetstream.WithSubjectFilter(">"))
			if g, w := summarize(after.State), summarize(before.State); g != w {
				t.Fatalf("after restart: state %+v; want %+v", g, w)
			}
			if !reflect.DeepEqual(after.State.Subjects, before.State.Subjects) {
				t.Fatalf("after restart: subjects %v; want %v", after.State.Subjects, before.State.Subjects)
			}
			checkIndexes(t, s, perSubject)
		})
	}
}

// TestJSStreamDeleteUnderLoad deletes and recreates a stream, and moves its
// subjects, while clients publish to it: every publish either gets an ack
// or an error, and the recreated stream starts afresh.
func TestJSStreamDeleteUnderLoad(t *testing.T) {
	j := startJS(t, "")
	_, admin := jsConnect(t, j)
	ctx := jsCtx(t)
	cfg := jetstream.StreamConfig{Name: "HOT", Subjects: []string{"hot.>"}}
	mustCreate(t, admin, cfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 3 {
		nc, _ := jsConnect(t, j)
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(32), jetstream.WithPublishAsyncTimeout(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					select {
					case <-js.PublishAsyncComplete():
					case <-time.After(testTimeout):
						t.Errorf("publisher %d: acks or errors still pending", p)
					}
					return
				default:
				}
				// Errors (no stream for a moment) are expected; hangs are not.
				js.PublishAsync(fmt.Sprintf("hot.%d", i%5), []byte("x"), jetstream.WithStallWait(testTimeout), jetstream.WithRetryAttempts(0))
			}
		}()
	}
	for round := range 10 {
		if err := admin.DeleteStream(ctx, "HOT"); err != nil {
			t.Fatalf("round %d: delete: %v", round, err)
		}
		c := cfg
		if round%2 == 1 {
			c.Subjects = []string{"hot.1", "hot.2"}
		}
		if _, err := admin.CreateStream(ctx, c); err != nil {
			t.Fatalf("round %d: create: %v", round, err)
		}
		s := mustStream(t, admin, "HOT")
		c.Subjects = []string{"hot.>"}
		if _, err := admin.UpdateStream(ctx, c); err != nil {
			t.Fatalf("round %d: update: %v", round, err)
		}
		// Publishers may already have stored into it: it starts at 1, or
		// shows first_seq 0 while it has never held a message.
		if st := mustInfo(t, s).State; st.LastSeq > 0 && st.FirstSeq != 1 || st.LastSeq == 0 && st.FirstSeq != 0 {
			t.Fatalf("round %d: recreated stream has first_seq %d, last_seq %d", round, st.FirstSeq, st.LastSeq)
		}
	}
	close(stop)
	wg.Wait()
	s := mustStream(t, admin, "HOT")
	checkIndexes(t, s, 0)
	last := mustInfo(t, s).State.LastSeq
	mustPublish(t, admin, "hot.9", "final", last+1)
}
