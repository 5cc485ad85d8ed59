package jetstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// publishOne publishes to subj (in stream S) with a reply and returns the
// one PubAck.
func (e *fuzzEnv) publishOne(t testing.TB, subj string, hdr, data []byte) PubAck {
	t.Helper()
	pa := e.publishOneTo(t, subj, hdr, data)
	if pa.Stream != "S" {
		t.Fatalf("PubAck %+v: want stream S", pa)
	}
	return pa
}

// publishOneTo publishes to subj with a reply and returns the one PubAck.
func (e *fuzzEnv) publishOneTo(t testing.TB, subj string, hdr, data []byte) PubAck {
	t.Helper()
	e.n++
	inbox := "_INBOX.pub." + strconv.Itoa(e.n)
	e.bus.Publish(subj, inbox, hdr, data)
	acks := e.bus.waitFor(t, inbox, 1)
	if len(acks) != 1 {
		t.Fatalf("%d PubAcks; want 1", len(acks))
	}
	var pa PubAck
	if err := json.Unmarshal(acks[0].Data, &pa); err != nil {
		t.Fatalf("PubAck %q: %v", acks[0].Data, err)
	}
	if pa.Error != nil && (pa.Error.Code < 400 || pa.Error.ErrCode == 0 || pa.Error.Description == "") {
		t.Fatalf("PubAck %q: incomplete error", acks[0].Data)
	}
	return pa
}

// ttlAt returns when the TTL schedule removes seq, or 0.
func (st *stream) ttlAt(seq uint64) int64 {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, e := range st.ttls {
		if e.seq == seq {
			return e.at
		}
	}
	return 0
}

// publishHeaderSeeds are header blocks clients get wrong, or send to
// hurt: bad or huge expectation values, TTLs and roll-ups, and blocks that
// are not NATS/1.0 blocks at all.
var publishHeaderSeeds = []string{
	"NATS/1.0\r\nNats-Msg-Id: seed-1\r\n\r\n",
	"NATS/1.0\r\nNats-Msg-Id: \r\n\r\n",
	"NATS/1.0\r\nNats-Msg-Id: " + string(bytes.Repeat([]byte("i"), 5000)) + "\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Last-Sequence: 5\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Last-Sequence: abc\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Last-Sequence: 99999999999999999999999\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Last-Sequence: -1\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 18446744073709551615\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\nNats-Expected-Last-Subject-Sequence-Subject: s.seed.1\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Stream: T\r\n\r\n",
	"NATS/1.0\r\nNats-Expected-Last-Msg-Id: seed-4\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: 1s\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: 0\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: -5s\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: never\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: 9223372036854775807\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: 9223372037\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: 2562047h\r\n\r\n",
	"NATS/1.0\r\nNats-TTL: 1e9\r\n\r\n",
	"NATS/1.0\r\nNats-Rollup: sub\r\n\r\n",
	"NATS/1.0\r\nNats-Rollup: everything\r\n\r\n",
	"NATS/1.0\r\nNats-Rollup:\r\n\r\n",
	"NATS/1.0",
	"Nats-Msg-Id: x\r\n\r\n",
	"\r\n\r\n\r\n\r\n",
	"\r\n",
	"NATS/1.0\nNats-Msg-Id: lf-only\n\n",
	"NATS/1.0\r\nNats-Msg-Id\r\n:\r\n: x\r\n\r\n",
	"NATS/1.0 503\r\n\r\n",
	"\x00\x00\x00\x00",
}

// FuzzStreamPublish publishes one message with a fuzzed header block to
// stream S. It gets exactly one PubAck. A stored message is stored as
// sent (an empty header block and none are the same), at the next sequence, and a TTL never schedules its removal
// sooner than the header asks (at least a second). A refused or duplicate
// message changes nothing; a roll-up removes only what it names.
func FuzzStreamPublish(f *testing.F) {
	for _, h := range publishHeaderSeeds {
		f.Add([]byte(h), true, []byte("data"))
	}
	f.Add([]byte(nil), false, []byte(""))
	f.Add([]byte{}, true, []byte("0")) // an HPUB whose header block is empty
	f.Fuzz(func(t *testing.T, hdr []byte, withHeader bool, data []byte) {
		if !withHeader {
			hdr = nil
		} else if hdr == nil {
			hdr = []byte{}
		}
		e := newFuzzEnv(t)
		st := e.js.lookup("S")
		before := time.Now().UnixNano()
		pa := e.publishOne(t, "s.fuzz", hdr, data)
		e.log.check(t)
		state := st.store.State()
		switch {
		case pa.Error != nil:
			e.checkSeeds(t)
		case pa.Duplicate:
			got, err := st.store.Load(pa.Seq)
			if err != nil {
				t.Fatalf("duplicate of seq %d: %v", pa.Seq, err)
			}
			if id := headerValue(hdr, hdrMsgID); id == "" || id != headerValue(got.Header, hdrMsgID) {
				t.Fatalf("duplicate of seq %d, which has header %q; sent %q", pa.Seq, got.Header, hdr)
			}
			e.checkSeeds(t)
		default:
			if pa.Seq != seedMsgs+1 || state.LastSeq != pa.Seq {
				t.Fatalf("stored at %d, last %d; want %d", pa.Seq, state.LastSeq, seedMsgs+1)
			}
			got, err := st.store.Load(pa.Seq)
			if err != nil {
				t.Fatalf("load %d: %v", pa.Seq, err)
			}
			if got.Subject != "s.fuzz" || !bytes.Equal(got.Header, hdr) || !bytes.Equal(got.Data, data) {
				t.Fatalf("stored %q %q %q; sent %q %q", got.Subject, got.Header, got.Data, hdr, data)
			}
			if v := headerValue(hdr, hdrTTL); v != "" {
				if at := st.ttlAt(pa.Seq); at != 0 && at < before+int64(time.Second) {
					t.Fatalf("TTL %q schedules removal %v from now", v, time.Duration(at-before))
				}
			}
			switch headerValue(hdr, hdrRollup) {
			case "all":
				if state.Msgs != 1 {
					t.Fatalf("roll-up all left %d messages", state.Msgs)
				}
			case "sub":
				// s.fuzz had no messages before: nothing else goes.
				if state.Msgs != seedMsgs+1 {
					t.Fatalf("roll-up of s.fuzz left %d messages; want %d", state.Msgs, seedMsgs+1)
				}
			default:
				if state.Msgs != seedMsgs+1 {
					t.Fatalf("%d messages; want %d", state.Msgs, seedMsgs+1)
				}
			}
		}
		// The stream still takes a plain message at the next sequence.
		next := state.LastSeq + 1
		if pa := e.publishOne(t, "s.after", nil, []byte("after")); pa.Error != nil || pa.Seq != next {
			t.Fatalf("publish after: %+v; want seq %d", pa, next)
		}
	})
}

// headerValue is the first value of a header field, as the stream layer
// reads it.
func headerValue(hdr []byte, name string) string {
	return string(protocol.HeaderGet(hdr, name))
}

// TestFuzzTTLFarFuture stores messages whose TTL is so long that
// "now + TTL" does not fit in int64 nanoseconds. They are accepted, so
// they must outlive the next expiry round.
func TestFuzzTTLFarFuture(t *testing.T) {
	for _, ttl := range []string{"2562047h", "9223372037", "9223372036854775807"} {
		t.Run(ttl, func(t *testing.T) {
			e := newFuzzEnv(t)
			st := e.js.lookup("S")
			hdr := []byte("NATS/1.0\r\nNats-TTL: " + ttl + "\r\n\r\n")
			pa := e.publishOne(t, "s.ttl", hdr, []byte("keep me"))
			if pa.Error != nil {
				t.Fatalf("Nats-TTL %s refused: %+v", ttl, pa.Error)
			}
			if at := st.ttlAt(pa.Seq); at == 0 {
				t.Errorf("Nats-TTL %s accepted but never scheduled", ttl)
			}
			st.do(func() { st.expire(time.Now().Add(time.Hour)) })
			if _, err := st.store.Load(pa.Seq); err != nil {
				t.Fatalf("message with Nats-TTL %s gone after an expiry round: %v", ttl, err)
			}
			e.checkSeedData(t)
		})
	}
}

// TestFuzzSequenceExhausted starts streams at the last sequences there
// are. Messages that fit are stored; the one that would take the last
// sequence (or wrap to 0) is refused, what was acknowledged stays, and
// requests that walk the stream still finish.
func TestFuzzSequenceExhausted(t *testing.T) {
	const first = 18446744073709551613 // MaxUint64-2
	for _, storage := range []string{StorageFile, StorageMemory} {
		t.Run(storage, func(t *testing.T) {
			e := newFuzzEnv(t)
			e.mustOK(t, "STREAM.CREATE.N", `{"name":"N","subjects":["n.>"],"allow_direct":true,"storage":"`+storage+`","first_seq":`+strconv.FormatUint(first, 10)+`}`)
			st := e.js.lookup("N")
			var acked []uint64
			for i := range 3 {
				e.n++
				inbox := "_INBOX.wrap." + strconv.Itoa(i)
				e.bus.Publish("n.x", inbox, nil, []byte("data "+strconv.Itoa(i)))
				var pa PubAck
				if err := json.Unmarshal(e.bus.waitFor(t, inbox, 1)[0].Data, &pa); err != nil {
					t.Fatal(err)
				}
				switch {
				case i < 2 && (pa.Error != nil || pa.Seq != first+uint64(i)):
					t.Fatalf("publish %d: %+v; want seq %d", i, pa, first+uint64(i))
				case i == 2 && (pa.Error == nil || pa.Error.ErrCode == 0):
					t.Fatalf("publish past the last sequence: %+v; want an error", pa)
				}
				if pa.Error == nil {
					acked = append(acked, pa.Seq)
				}
			}
			state := st.store.State()
			if state.Msgs != uint64(len(acked)) || state.LastSeq != acked[len(acked)-1] {
				t.Fatalf("state %+v; want %d messages up to %d", state, len(acked), acked[len(acked)-1])
			}
			for i, seq := range acked {
				if m, err := st.store.Load(seq); err != nil || string(m.Data) != "data "+strconv.Itoa(i) {
					t.Fatalf("load %d: %q, %v", seq, m.Data, err)
				}
			}
			for _, r := range []struct{ op, body string }{
				{"STREAM.INFO.N", `{"deleted_details":true,"subjects_filter":">"}`},
				{"STREAM.MSG.GET.N", `{"next_by_subj":"n.none"}`},
				{"STREAM.MSG.GET.N", `{"last_by_subj":"n.*"}`},
				{"DIRECT.GET.N.n.x", ``},
				{"CONSUMER.CREATE.N", `{"stream_name":"N","config":{"deliver_policy":"last_per_subject","filter_subject":"n.*"}}`},
				{"STREAM.PURGE.N", `{"keep":1}`},
			} {
				if _, replies := e.request(t, r.op, []byte(r.body)); len(replies) != 1 {
					t.Fatalf("%s: %d replies; want 1", r.op, len(replies))
				}
			}
			e.log.check(t)
		})
	}
}

// TestFuzzReplayRequests replays dead letters with requests a client gets
// wrong: a sequence listed more than once is replayed once, and a dead
// letter no stream would take fails at once instead of holding the
// replay loop for the PubAck wait.
func TestFuzzReplayRequests(t *testing.T) {
	e := newFuzzEnv(t)
	e.mustOK(t, "STREAM.CREATE.D", `{"name":"D","subjects":["dlq.>"]}`)
	e.mustOK(t, "STREAM.CREATE.SRC", `{"name":"SRC","subjects":["src.>"],"dead_letter_stream":"D"}`)
	// Dead letters as the server stores them (the server's own publishes
	// keep their Wren-DLQ-* fields).
	e.publishOneTo(t, "dlq.x", []byte("NATS/1.0\r\nWren-DLQ-Stream: SRC\r\nWren-DLQ-Subject: s.replayed\r\n\r\n"), []byte("dead"))
	e.publishOneTo(t, "dlq.y", []byte("NATS/1.0\r\nWren-DLQ-Stream: SRC\r\nWren-DLQ-Subject: nowhere.x\r\n\r\n"), []byte("dead2"))
	st := e.js.lookup("S")

	resp := e.js.replayFor("D", []byte(`{"seqs":[1,1,1]}`), nil)
	if resp.Error != nil || resp.Replayed != 1 || len(resp.Failed) != 0 {
		t.Errorf("replay of seq 1 listed three times: %+v; want it replayed once", resp)
	}
	if n := st.store.State().Msgs; n != seedMsgs+1 {
		t.Errorf("S holds %d messages; want %d", n, seedMsgs+1)
	}

	start := time.Now()
	resp = e.js.replayFor("D", []byte(`{"seq":2}`), nil)
	if d := time.Since(start); d > quick {
		t.Errorf("replay to a subject no stream takes: %v", d)
	}
	if resp.Replayed != 0 || len(resp.Failed) != 1 {
		t.Errorf("replay to a subject no stream takes: %+v; want one failure", resp)
	}
	if _, err := e.js.lookup("D").store.Load(2); err != nil {
		t.Errorf("the dead letter that failed to replay is gone: %v", err)
	}
	e.log.check(t)
}
