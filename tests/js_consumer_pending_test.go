package tests

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// pendingModel mirrors a stream's stored messages to work out what
// num_pending should be.
type pendingModel struct {
	subjects map[uint64]string // stored sequence → subject
	last     uint64
}

func (m *pendingModel) publish(t *testing.T, js jetstream.JetStream, subject string) {
	t.Helper()
	ack, err := js.Publish(jsCtx(t), subject, []byte(subject))
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	m.subjects[ack.Sequence] = subject
	m.last = ack.Sequence
}

// pending counts the stored messages after seq that pass filters (none:
// all of them).
func (m *pendingModel) pending(after uint64, filters []string) uint64 {
	var n uint64
	for seq, subj := range m.subjects {
		if seq > after && subjectPasses(subj, filters) {
			n++
		}
	}
	return n
}

func subjectPasses(subj string, filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if f == subj || (f == "x.*" && len(subj) > 2 && subj[:2] == "x.") {
			return true
		}
	}
	return false
}

// checkPending compares a consumer's num_pending with the model, then
// fetches everything and checks that exactly that many messages come.
func checkPending(t *testing.T, m *pendingModel, c jetstream.Consumer, filters []string, fetch bool) {
	t.Helper()
	ci, err := c.Info(jsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := m.pending(ci.Delivered.Stream, filters)
	if ci.NumPending != want {
		t.Fatalf("%s: num_pending = %d after stream seq %d; want %d", ci.Name, ci.NumPending, ci.Delivered.Stream, want)
	}
	if !fetch {
		return
	}
	b, err := c.Fetch(int(want)+5, jetstream.FetchMaxWait(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got := uint64(0)
	for msg := range b.Messages() {
		md, _ := msg.Metadata()
		if _, ok := m.subjects[md.Sequence.Stream]; !ok {
			t.Fatalf("%s: delivered stream seq %d, which was removed", ci.Name, md.Sequence.Stream)
		}
		msg.Ack()
		got++
	}
	if got != want {
		t.Fatalf("%s: fetch delivered %d; num_pending said %d", ci.Name, got, want)
	}
}

func TestJSConsumerNumPendingExact(t *testing.T) {
	subjects := []string{"x.a", "x.b", "y.c"}
	filterSets := map[string][]string{
		"all":      nil,
		"literal":  {"x.a"},
		"literals": {"x.a", "y.c"},
		"wildcard": {"x.*"},
	}
	// In a fixed order: the consumers draw from one generator, and a
	// failure must replay the same way.
	names := slices.Sorted(maps.Keys(filterSets))
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			j := startJS(t, "")
			_, js := jsConnect(t, j)
			s := mustCreate(t, js, jetstream.StreamConfig{Name: "NP", Subjects: []string{"x.>", "y.>"}, Storage: storage})
			m := &pendingModel{subjects: map[uint64]string{}}
			rng := rand.New(rand.NewPCG(7, uint64(storage)))
			publish := func(n int) {
				for range n {
					m.publish(t, js, subjects[rng.IntN(len(subjects))])
				}
			}
			publish(60)
			cons := map[string]jetstream.Consumer{}
			for _, name := range names {
				fs := filterSets[name]
				cfg := jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy}
				if len(fs) == 1 {
					cfg.FilterSubject = fs[0]
				} else {
					cfg.FilterSubjects = fs
				}
				cons[name] = mustConsumer(t, s, cfg)
				// Read partway, so deletes fall on both sides of the
				// delivered sequence.
				fetchData(t, cons[name], 3+rng.IntN(10), time.Second, true)
				checkPending(t, m, cons[name], fs, false)
			}
			remove := func(seq uint64) {
				if err := s.DeleteMsg(jsCtx(t), seq); err != nil {
					t.Fatalf("delete %d: %v", seq, err)
				}
				delete(m.subjects, seq)
			}
			for round := range 4 {
				// Deletes in the middle, some on each side of every
				// consumer's delivered sequence.
				for range 8 {
					seq := m.last - uint64(rng.IntN(int(m.last)))
					if _, ok := m.subjects[seq]; ok {
						remove(seq)
					}
				}
				for _, name := range names {
					checkPending(t, m, cons[name], filterSets[name], false)
				}
				switch round {
				case 1:
					// A purge past some consumers' delivered sequences.
					upTo := m.last / 2
					if err := s.Purge(jsCtx(t), jetstream.WithPurgeSequence(upTo+1)); err != nil {
						t.Fatal(err)
					}
					for seq := range m.subjects {
						if seq <= upTo {
							delete(m.subjects, seq)
						}
					}
				case 2:
					// A purge of one subject.
					if err := s.Purge(jsCtx(t), jetstream.WithPurgeSubject("x.a")); err != nil {
						t.Fatal(err)
					}
					for seq, subj := range m.subjects {
						if subj == "x.a" {
							delete(m.subjects, seq)
						}
					}
				}
				publish(30)
				for _, name := range names {
					checkPending(t, m, cons[name], filterSets[name], round%2 == 1)
				}
			}
			for _, name := range names {
				checkPending(t, m, cons[name], filterSets[name], true)
				ci, err := cons[name].Info(jsCtx(t))
				if err != nil {
					t.Fatal(err)
				}
				if ci.NumPending != 0 {
					t.Fatalf("%s: num_pending %d after reading everything", name, ci.NumPending)
				}
			}
		})
	}
}

// TestJSConsumerNumPendingDeletedAhead deletes messages the consumer has
// already read ahead but not delivered: they are neither counted nor
// delivered.
func TestJSConsumerNumPendingDeletedAhead(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "DA", Subjects: []string{"da.>"}})
	m := &pendingModel{subjects: map[uint64]string{}}
	for i := range 20 {
		m.publish(t, js, fmt.Sprintf("da.%d", i%2))
	}
	for _, fs := range [][]string{nil, {"da.1"}} {
		name := fmt.Sprintf("c%d", len(fs))
		cfg := jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy}
		if fs != nil {
			cfg.FilterSubject = fs[0]
		}
		c := mustConsumer(t, s, cfg)
		fetchData(t, c, 2, time.Second, true)
		for _, seq := range []uint64{8, 9, 10, 11} {
			if _, ok := m.subjects[seq]; !ok {
				continue
			}
			if err := s.DeleteMsg(jsCtx(t), seq); err != nil {
				t.Fatal(err)
			}
			delete(m.subjects, seq)
		}
		checkPending(t, m, c, fs, true)
	}
}
