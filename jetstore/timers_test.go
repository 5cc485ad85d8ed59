package jetstore

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// The stream layer's timers (ack wait, backoff, idle heartbeats, max age,
// inactive consumers, store retries) run here on synctest's fake clock:
// each test opens the stream layer inside a bubble, so time moves only
// when every goroutine of it is blocked, and synctest.Wait observes what
// happened (or did not) by a given instant, without sleeping for real.

// clockEnv opens the stream layer on a fake bus inside the current
// bubble, with stream T (memory, subjects t.>) unless file is set, then
// on disk. With logs nil an error logged fails the test; otherwise logs
// gets every record.
func clockEnv(t *testing.T, file bool, logs *levelLog) *fuzzEnv {
	t.Helper()
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	var h slog.Handler = errorLogHandler{e.log}
	if logs != nil {
		h = levelLogHandler{logs}
	}
	js, err := Open(e.bus, Config{StoreDir: t.TempDir(), Sync: SyncAlways, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		js.Close()
		e.log.check(t)
	})
	e.js = js
	storage := "memory"
	if file {
		storage = "file"
	}
	e.mustOK(t, "STREAM.CREATE.T", `{"name":"T","subjects":["t.>"],"storage":"`+storage+`"}`)
	return e
}

// delivery is one message a consumer delivered, with the fake time it
// arrived and the delivery count from its ack subject.
type delivery struct {
	at         time.Time
	data       string
	deliveries uint64
	status     int // idle heartbeats and other status messages
}

// recorder collects what arrives on a subject.
type recorder struct {
	mu  sync.Mutex
	got []delivery
}

func (e *fuzzEnv) record(t *testing.T, subject string) *recorder {
	t.Helper()
	r := &recorder{}
	unsub, err := e.bus.Subscribe(subject, "", func(m *protocol.Msg) {
		d := delivery{at: time.Now(), data: string(m.Data)}
		d.status, _ = protocol.HeaderStatus(m.Header)
		if toks := strings.Split(string(m.Reply), "."); len(toks) > 4 && strings.HasPrefix(string(m.Reply), ackPrefix) {
			d.deliveries, _ = strconv.ParseUint(toks[4], 10, 64)
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unsub)
	return r
}

// msgs returns the messages (not status messages) recorded so far.
func (r *recorder) msgs() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.status == 0 {
			out = append(out, d)
		}
	}
	return out
}

// heartbeats returns the idle heartbeats recorded so far.
func (r *recorder) heartbeats() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.status == protocol.StatusIdleHeartbeat {
			out = append(out, d)
		}
	}
	return out
}

// advance lets d of fake time pass and returns once every goroutine of
// the stream layer is blocked again.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// pullInto sends one pull request for batch messages to consumer name of
// T, answered on inbox, waiting up to expires.
func (e *fuzzEnv) pullInto(name, inbox string, batch int, expires time.Duration) {
	body := `{"batch":` + strconv.Itoa(batch) + `,"expires":` + strconv.FormatInt(int64(expires), 10) + `}`
	e.bus.Publish(apiPrefix+"CONSUMER.MSG.NEXT.T."+name, inbox, nil, []byte(body))
}

// within fails unless got lies in [want, want+slack].
func within(t *testing.T, what string, got, want, slack time.Duration) {
	t.Helper()
	if got < want || got > want+slack {
		t.Errorf("%s after %v; want %v (up to %v later)", what, got, want, slack)
	}
}

// TestAckWaitRedelivers: an unacked message is delivered again once its
// ack wait has passed, not before; an acked one never is.
func TestAckWaitRedelivers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clockEnv(t, false, nil)
		e.mustOK(t, "CONSUMER.CREATE.T.C", `{"stream_name":"T","config":{"durable_name":"C","ack_policy":"explicit","ack_wait":30000000000}}`)
		rec := e.record(t, "_INBOX.ackwait")
		e.publishOneTo(t, "t.a", nil, []byte("kept"))
		e.publishOneTo(t, "t.b", nil, []byte("acked"))
		e.pullInto("C", "_INBOX.ackwait", 4, 10*time.Minute)
		synctest.Wait()
		first := rec.msgs()
		if len(first) != 2 || first[0].deliveries != 1 {
			t.Fatalf("first deliveries %+v; want both messages once", first)
		}
		ackInbox := "_INBOX.ackwait.ok"
		listen(t, e.bus, ackInbox)
		e.bus.Publish(ackReplyOf(t, e, "_INBOX.ackwait", 1), ackInbox, nil, []byte("+ACK"))
		synctest.Wait()

		advance(30*time.Second - time.Millisecond - time.Since(first[0].at))
		if n := len(rec.msgs()); n != 2 {
			t.Fatalf("%d deliveries 1ms before the ack wait ran out; want 2", n)
		}
		advance(50 * time.Millisecond)
		got := rec.msgs()
		if len(got) != 3 || got[2].data != "kept" || got[2].deliveries != 2 {
			t.Fatalf("deliveries %+v; want the unacked message again, as delivery 2", got)
		}
		within(t, "redelivery", got[2].at.Sub(first[0].at), 30*time.Second, 10*time.Millisecond)
	})
}

// ackReplyOf returns the ack subject of the i-th message delivered to
// inbox.
func ackReplyOf(t *testing.T, e *fuzzEnv, inbox string, i int) string {
	t.Helper()
	got := e.bus.to(inbox)
	if len(got) <= i {
		t.Fatalf("%d messages to %s; want more than %d", len(got), inbox, i)
	}
	return string(got[i].Reply)
}

// TestBackoffSchedule: redeliveries follow the backoff schedule, the
// last step repeating, until max_deliver; then the message is not
// delivered again.
func TestBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clockEnv(t, false, nil)
		e.mustOK(t, "CONSUMER.CREATE.T.C", `{"stream_name":"T","config":{"durable_name":"C","ack_policy":"explicit","max_deliver":4,"backoff":[2000000000,10000000000]}}`)
		rec := e.record(t, "_INBOX.backoff")
		e.publishOneTo(t, "t.a", nil, []byte("m"))
		e.pullInto("C", "_INBOX.backoff", 10, time.Hour)
		synctest.Wait()
		advance(time.Minute)
		got := rec.msgs()
		if len(got) != 4 {
			t.Fatalf("%d deliveries in a minute; want max_deliver 4", len(got))
		}
		for i, want := range []time.Duration{2 * time.Second, 10 * time.Second, 10 * time.Second} {
			if got[i+1].deliveries != uint64(i+2) {
				t.Errorf("delivery %d counts %d", i+2, got[i+1].deliveries)
			}
			within(t, "delivery "+strconv.Itoa(i+2), got[i+1].at.Sub(got[i].at), want, 10*time.Millisecond)
		}
		advance(10 * time.Minute)
		if n := len(rec.msgs()); n != 4 {
			t.Fatalf("%d deliveries after max_deliver; want 4", n)
		}
	})
}

// TestIdleHeartbeats: a push consumer with nothing to deliver sends an
// idle heartbeat every idle_heartbeat, and a delivery puts the next one
// off by a whole period.
func TestIdleHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clockEnv(t, false, nil)
		rec := e.record(t, "hb.in")
		e.mustOK(t, "CONSUMER.CREATE.T.P", `{"stream_name":"T","config":{"durable_name":"P","deliver_subject":"hb.in","ack_policy":"none","idle_heartbeat":1000000000}}`)
		advance(3500 * time.Millisecond)
		hbs := rec.heartbeats()
		if len(hbs) < 3 {
			t.Fatalf("%d heartbeats in 3.5s; want one a second", len(hbs))
		}
		for i := 1; i < len(hbs); i++ {
			within(t, "heartbeat", hbs[i].at.Sub(hbs[i-1].at), time.Second, 10*time.Millisecond)
		}
		advance(hbs[len(hbs)-1].at.Add(500 * time.Millisecond).Sub(time.Now()))
		e.publishOneTo(t, "t.a", nil, []byte("m"))
		synctest.Wait()
		msgs := rec.msgs()
		if len(msgs) != 1 {
			t.Fatalf("%d messages pushed; want 1", len(msgs))
		}
		before := len(rec.heartbeats())
		advance(time.Second - time.Millisecond - time.Since(msgs[0].at))
		if n := len(rec.heartbeats()); n != before {
			t.Fatalf("a heartbeat %v after a delivery; want none within a second", time.Since(msgs[0].at))
		}
		advance(20 * time.Millisecond)
		hbs = rec.heartbeats()
		if len(hbs) != before+1 {
			t.Fatalf("%d heartbeats a second after the delivery; want %d", len(hbs), before+1)
		}
		within(t, "heartbeat after a delivery", hbs[len(hbs)-1].at.Sub(msgs[0].at), time.Second, 10*time.Millisecond)
	})
}

// TestMaxAgeExpiry: a message goes once it is older than max_age (the
// stream looks every second), not before.
func TestMaxAgeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clockEnv(t, true, nil)
		e.mustOK(t, "STREAM.CREATE.A", `{"name":"A","subjects":["a.>"],"max_age":5000000000}`)
		e.publishOneTo(t, "a.x", nil, []byte("m"))
		stored := time.Now()
		st := e.js.lookup("A")
		advance(5*time.Second - time.Millisecond)
		if n := st.store.State().Msgs; n != 1 {
			t.Fatalf("%d messages 1ms before max_age; want 1", n)
		}
		advance(time.Second + 2*time.Millisecond)
		if n := st.store.State().Msgs; n != 0 {
			t.Fatalf("%d messages %v after it was stored; want it gone within a second of max_age", n, time.Since(stored))
		}
	})
}

// TestInactiveConsumerExpiry: an ephemeral consumer nobody uses is
// deleted once its inactive threshold has passed, not before, and a pull
// request keeps it alive.
func TestInactiveConsumerExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clockEnv(t, false, nil)
		e.mustOK(t, "CONSUMER.CREATE.T.E", `{"stream_name":"T","config":{"name":"E","ack_policy":"explicit","inactive_threshold":5000000000}}`)
		created := time.Now()
		st := e.js.lookup("T")
		advance(4 * time.Second)
		e.pullInto("E", "_INBOX.keep", 1, 100*time.Millisecond)
		used := time.Now()
		advance(5*time.Second - time.Millisecond - time.Since(used))
		if st.consumer("E") == nil {
			t.Fatalf("consumer gone %v after its last pull request; want it kept for 5s", time.Since(used))
		}
		advance(time.Second)
		if st.consumer("E") != nil {
			t.Fatalf("consumer still there %v after creation and %v after its last use", time.Since(created), time.Since(used))
		}
	})
}

// TestStoreRetrySchedule: while the disk fails, the stream tries its
// store again no sooner than faultRetryMin and no later than
// faultRetryMax apart, doubling the wait, and refuses publishes in
// between without writing; once the disk is back, publishes are stored
// within faultRetryMax.
func TestStoreRetrySchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &levelLog{}
		e := clockEnv(t, true, logs)
		st := e.js.lookup("T")
		var mu sync.Mutex
		var attempts []time.Time
		failing := true
		setFailpoint(st.store, func(op string) error {
			if op != "fsync" {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, time.Now())
			if failing {
				return errDiskFull
			}
			return nil
		})
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			if pa := e.publishOneTo(t, "t.x", nil, []byte("m")); pa.Error == nil {
				t.Fatalf("publish stored on a failing disk: %+v", pa)
			}
			advance(50 * time.Millisecond)
		}
		mu.Lock()
		tries := append([]time.Time(nil), attempts...)
		failing = false
		mu.Unlock()
		// 100ms doubling to 2s: writes at 0, ~0.1, 0.3, 0.7, 1.5, 3.1,
		// 5.1, 7.1 and 9.1s.
		if len(tries) < 6 || len(tries) > 10 {
			t.Fatalf("%d store writes in 10s of publishes every 50ms; want about 9 (retries doubling from %v to %v)", len(tries), faultRetryMin, faultRetryMax)
		}
		for i := 1; i < len(tries); i++ {
			if gap := tries[i].Sub(tries[i-1]); gap < faultRetryMin-50*time.Millisecond || gap > faultRetryMax+50*time.Millisecond {
				t.Errorf("store write %d came %v after the one before; want between %v and %v", i, gap, faultRetryMin, faultRetryMax)
			}
		}
		healed := time.Now()
		for {
			pa := e.publishOneTo(t, "t.x", nil, []byte("after"))
			if pa.Error == nil {
				break
			}
			if time.Since(healed) > faultRetryMax+time.Second {
				t.Fatalf("publishes still refused %v after the disk came back", time.Since(healed))
			}
			advance(50 * time.Millisecond)
		}
		if got, err := st.store.Load(st.store.State().LastSeq); err != nil || !bytes.Equal(got.Data, []byte("after")) {
			t.Fatalf("last message %q, %v; want the one stored once the disk came back", got.Data, err)
		}
		if n := st.store.State().Msgs; n != 1 {
			t.Fatalf("%d messages stored; want only the one published after the disk came back", n)
		}
		if n, m := logs.count("stream store write failed"), logs.count("stream store writable again"); n != 1 || m != 1 {
			t.Fatalf("failure logged %d times and recovery %d times; want once each\n%s", n, m, logs)
		}
	})
}
