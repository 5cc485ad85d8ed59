package jetstore

import (
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// TestConsumerHolds: which messages a consumer of an interest stream
// holds.
func TestConsumerHolds(t *testing.T) {
	st := newStream(nil, "", StreamConfig{Name: "I", Subjects: []string{"i.>"}, Retention: RetentionInterest}, time.Now())
	c := newConsumer(st, ConsumerConfig{Name: "c", FilterSubjects: []string{"i.a", "i.b.>"}}, time.Now(), "")
	c.sseq = 10
	c.pending[4] = &pendingMsg{}
	c.held = map[uint64]struct{}{6: {}}
	for _, tt := range []struct {
		seq  uint64
		subj string
		want bool
	}{
		{3, "i.a", false},  // before its next message, not pending: acked
		{4, "i.a", true},   // pending
		{4, "i.zzz", true}, // pending, whatever its filters say now
		{6, "i.a", true},   // given up on, kept
		{9, "i.b.x", false},
		{10, "i.a", true}, // not reached yet
		{11, "i.b.x.y", true},
		{12, "i.c", false}, // not its subject
		{13, "i.b", false},
	} {
		if got := c.holds(tt.seq, tt.subj); got != tt.want {
			t.Errorf("holds(%d, %s) = %v; want %v", tt.seq, tt.subj, got, tt.want)
		}
	}
	if f := c.interestFloor(); f != 4 {
		t.Errorf("interest floor = %d; want 4", f)
	}

	// last_per_subject skips the messages before its end that are not the
	// last of their subject.
	l := newConsumer(st, ConsumerConfig{Name: "l"}, time.Now(), "")
	l.sseq, l.lpsEnd = 5, 9
	l.lps = map[uint64]struct{}{5: {}, 8: {}}
	for seq, want := range map[uint64]bool{4: false, 5: true, 6: false, 8: true, 9: false, 10: true} {
		if got := l.holds(seq, "i.a"); got != want {
			t.Errorf("last_per_subject holds(%d) = %v; want %v", seq, got, want)
		}
	}
}

// interestEnv is a stream layer in dir on a fake bus with an interest
// stream I (subjects i.>).
func interestEnv(t *testing.T, dir string, create bool) *fuzzEnv {
	t.Helper()
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	js, err := Open(e.bus, Config{StoreDir: dir, Sync: SyncAlways, Logger: slog.New(levelLogHandler{&levelLog{}})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Close() })
	e.js = js
	if create {
		e.mustOK(t, "STREAM.CREATE.I", `{"name":"I","subjects":["i.>"],"retention":"interest"}`)
	}
	return e
}

// pull asks consumer name of I for n messages and returns them.
func (e *fuzzEnv) pull(t *testing.T, name string, n int) []*protocol.Msg {
	t.Helper()
	e.n++
	inbox := "_INBOX.pull." + strconv.Itoa(e.n)
	listen(t, e.bus, inbox)
	e.bus.Publish(apiPrefix+"CONSUMER.MSG.NEXT.I."+name, inbox, nil, []byte(fmt.Sprintf(`{"batch":%d,"expires":5000000000}`, n)))
	return e.bus.waitFor(t, inbox, n)
}

// ackWith sends body to m's ack subject and waits for its confirmation.
func (e *fuzzEnv) ackWith(t *testing.T, m *protocol.Msg, body string) {
	t.Helper()
	e.n++
	inbox := "_INBOX.ack." + strconv.Itoa(e.n)
	listen(t, e.bus, inbox)
	e.bus.Publish(string(m.Reply), inbox, nil, []byte(body))
	e.bus.waitFor(t, inbox, 1)
}

// TestInterestReconcileAtOpen: messages every consumer acked while the
// store could not remove them (a full disk) are gone as the stream opens
// again; a message a consumer gave up on (max deliveries, no dead-letter
// stream) stays, whether its hold was in the consumer's log or its
// snapshot.
func TestInterestReconcileAtOpen(t *testing.T) {
	for _, snapshot := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", snapshot), func(t *testing.T) {
			dir := t.TempDir()
			e := interestEnv(t, dir, true)
			e.mustOK(t, "CONSUMER.CREATE.I.A", `{"stream_name":"I","config":{"durable_name":"A","ack_policy":"explicit"}}`)
			e.mustOK(t, "CONSUMER.CREATE.I.B", `{"stream_name":"I","config":{"durable_name":"B","ack_policy":"explicit","max_deliver":1}}`)
			for i := 1; i <= 5; i++ {
				if pa := e.publishOneTo(t, "i.x", nil, []byte("m-"+strconv.Itoa(i))); pa.Error != nil || pa.Seq != uint64(i) {
					t.Fatalf("publish %d: %+v", i, pa)
				}
			}
			st := e.js.lookup("I")
			ws := st.store
			setFailpoint(ws, failFsync)
			am, bm := e.pull(t, "A", 5), e.pull(t, "B", 4)
			for _, m := range am[:4] {
				e.ackWith(t, m, "+ACK")
			}
			for _, m := range bm[:3] {
				e.ackWith(t, m, "+ACK")
			}
			e.ackWith(t, bm[3], "-NAK") // its one delivery: given up on
			b := st.consumer("B")
			waitCond(t, "B to give up on 4", func() bool {
				b.mu.Lock()
				defer b.mu.Unlock()
				_, held := b.held[4]
				return held && len(b.pending) == 0
			})
			if n := ws.State().Msgs; n != 5 {
				t.Fatalf("%d messages on a full disk; want 5", n)
			}
			if snapshot {
				if err := b.rewriteState(); err != nil {
					t.Fatal(err)
				}
			}
			e.js.Close()

			e = interestEnv(t, dir, false)
			st = e.js.lookup("I")
			// 1..3 acked by both; 4 given up on by B; 5 pending in A, not
			// yet delivered to B.
			s := st.store.State()
			if s.Msgs != 2 || s.FirstSeq != 4 || s.LastSeq != 5 {
				t.Fatalf("after reopening: %d messages in [%d, %d]; want 2 in [4, 5]", s.Msgs, s.FirstSeq, s.LastSeq)
			}
			b = st.consumer("B")
			b.mu.Lock()
			_, held := b.held[4]
			b.mu.Unlock()
			if !held {
				t.Fatal("B no longer holds the message it gave up on")
			}
			if ci := st.consumer("A").info(""); ci.NumAckPending != 1 || ci.AckFloor.Stream != 4 {
				t.Fatalf("A: num_ack_pending %d, ack floor %d; want 1, 4", ci.NumAckPending, ci.AckFloor.Stream)
			}

			// Deleting B ends its hold; A's ack of 5 (on the ack subject
			// of its delivery before the restart) leaves 5 to nobody.
			e.mustOK(t, "CONSUMER.DELETE.I.B", ``)
			waitCond(t, "4 to go", func() bool { return st.store.State().FirstSeq == 5 })
			e.ackWith(t, am[4], "+ACK")
			waitCond(t, "5 to go", func() bool { return st.store.State().Msgs == 0 })
		})
	}
}

// TestInterestStoreFaultRemovals: acks that make messages removable while
// the store takes no writes remove them once it does.
func TestInterestStoreFaultRemovals(t *testing.T) {
	e := interestEnv(t, t.TempDir(), true)
	e.mustOK(t, "CONSUMER.CREATE.I.A", `{"stream_name":"I","config":{"durable_name":"A","ack_policy":"explicit"}}`)
	for i := 1; i <= 3; i++ {
		e.publishOneTo(t, "i.x", nil, []byte("m"))
	}
	st := e.js.lookup("I")
	ws := st.store
	setFailpoint(ws, failFsync)
	for _, m := range e.pull(t, "A", 3) {
		e.ackWith(t, m, "+ACK")
	}
	if n := ws.State().Msgs; n != 3 {
		t.Fatalf("%d messages on a full disk; want the 3 acked ones still there", n)
	}
	setFailpoint(ws, nil)
	waitCond(t, "the acked messages to go", func() bool { return ws.State().Msgs == 0 })
}

// BenchmarkInterestDecide measures deciding on one acked message against
// a backlog the other consumer holds: it must not grow with the backlog.
func BenchmarkInterestDecide(b *testing.B) {
	for _, backlog := range []int{1000, 100000} {
		b.Run("backlog="+strconv.Itoa(backlog), func(b *testing.B) {
			st := newStream(nil, "", StreamConfig{Name: "I", Retention: RetentionInterest}, time.Now())
			st.store = store.NewMemStore()
			msgs := make([]store.StoredMsg, backlog)
			for i := range msgs {
				msgs[i] = store.StoredMsg{Seq: uint64(i + 1), Subject: "i.x"}
			}
			if err := st.store.Append(msgs); err != nil {
				b.Fatal(err)
			}
			for i := range 4 {
				c := newConsumer(st, ConsumerConfig{Name: "c" + strconv.Itoa(i)}, time.Now(), "")
				c.sseq = uint64(backlog/2 + i)
				st.consumers[c.name] = c
			}
			one := []seqSubject{{uint64(backlog / 2), "i.x"}}
			b.ResetTimer()
			for range b.N {
				if err := st.dropUnheld(one); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
