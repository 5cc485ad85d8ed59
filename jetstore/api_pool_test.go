package jetstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// TestAPIPoolServesAroundABlockedStream holds stream S's writer, so that
// every purge of S waits for it, and checks what other clients see: with
// all but one general worker waiting, a message get on another stream is
// answered; with every general worker waiting and their queue full, stream
// and account info and a direct get of a subject S does not hold are still
// answered and a request beyond the queue is refused with 503 at once; once S's writer is free, every queued request
// is answered.
func TestAPIPoolServesAroundABlockedStream(t *testing.T) {
	e := newFuzzEnv(t)
	if pa := e.publishOneTo(t, "m.1", nil, []byte("x")); pa.Error != nil {
		t.Fatal(pa.Error)
	}
	st := e.js.lookup("S")
	release, held := make(chan struct{}), make(chan struct{})
	go st.do(func() { close(held); <-release })
	<-held
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	purge := func(i int) string {
		inbox := "_INBOX.purge." + strconv.Itoa(i)
		e.bus.Publish(apiPrefix+"STREAM.PURGE.S", inbox, nil, []byte(`{"filter":"s.none"}`))
		return inbox
	}
	var inboxes []string
	workers := apiWorkers()
	for i := range workers - 1 {
		inboxes = append(inboxes, purge(i))
	}
	e.bus.Publish(apiPrefix+"STREAM.MSG.GET.M", "_INBOX.get", nil, []byte(`{"last_by_subj":"m.1"}`))
	if r := e.bus.waitFor(t, "_INBOX.get", 1)[0]; !json.Valid(r.Data) || bytes.Contains(r.Data, []byte(`"error"`)) {
		t.Fatalf("get on M while S is held: %s", r.Data)
	}

	// Fill every general worker and the queue behind them.
	for i := workers - 1; i < workers+e.js.lim.requestQueue; i++ {
		inboxes = append(inboxes, purge(i))
	}
	for _, op := range []string{"STREAM.INFO.S", "INFO", "STREAM.NAMES", "CONSUMER.INFO.S.C"} {
		inbox := "_INBOX.info." + op
		e.bus.Publish(apiPrefix+op, inbox, nil, nil)
		if r := e.bus.waitFor(t, inbox, 1)[0]; bytes.Contains(r.Data, []byte(`"error"`)) {
			t.Fatalf("%s while every general worker waits: %s", op, r.Data)
		}
	}
	// A direct get of a subject the stream does not hold needs no worker.
	e.bus.Publish(apiPrefix+"DIRECT.GET.S.s.none", "_INBOX.miss", nil, nil)
	if r := e.bus.waitFor(t, "_INBOX.miss", 1)[0]; !bytes.HasPrefix(r.Header, []byte("NATS/1.0 404")) {
		t.Fatalf("direct get of a missing subject while every worker waits: %q %q; want a 404 status", r.Header, r.Data)
	}
	over := purge(-1)
	r := e.bus.waitFor(t, over, 1)[0]
	var resp apiResponse
	if err := json.Unmarshal(r.Data, &resp); err != nil || resp.Error == nil || resp.Error.Code != 503 || resp.Error.ErrCode != 10008 {
		t.Fatalf("request beyond the queue: %s; want a 503 with err_code 10008", r.Data)
	}

	close(release)
	released = true
	for _, inbox := range inboxes {
		if r := e.bus.waitFor(t, inbox, 1)[0]; bytes.Contains(r.Data, []byte(`"error"`)) {
			t.Fatalf("queued purge: %s", r.Data)
		}
	}
}

// TestAPIRequestQueueLimit checks that a configured request_queue_limit is
// the bound: with every general worker held up behind stream S's writer,
// exactly that many requests wait, the next ones are answered 503 (10008)
// at once, an api_limit_reached advisory counts them, and once S is free
// every waiting request is answered.
func TestAPIRequestQueueLimit(t *testing.T) {
	const limit = 8
	bus := newFakeBus()
	js, err := Open(bus, Config{StoreDir: t.TempDir(), Sync: SyncNever, RequestQueueLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	bus.Publish(apiPrefix+"STREAM.CREATE.S", "_INBOX.create", nil, []byte(`{"name":"S","subjects":["s.>"]}`))
	if r := bus.waitFor(t, "_INBOX.create", 1)[0]; bytes.Contains(r.Data, []byte(`"error"`)) {
		t.Fatal(string(r.Data))
	}
	st := js.lookup("S")
	release, held := make(chan struct{}), make(chan struct{})
	go st.do(func() { close(held); <-release })
	<-held
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	purge := func(i int) string {
		inbox := "_INBOX.purge." + strconv.Itoa(i)
		bus.Publish(apiPrefix+"STREAM.PURGE.S", inbox, nil, []byte(`{"filter":"s.none"}`))
		return inbox
	}
	var inboxes []string
	for i := range apiWorkers() {
		inboxes = append(inboxes, purge(i))
		waitCond(t, "a worker to take the purge", func() bool { return js.api.queued() == 0 })
	}
	for i := range limit {
		inboxes = append(inboxes, purge(100+i))
	}
	if n := js.api.queued(); n != limit {
		t.Fatalf("%d requests wait; want request_queue_limit %d", n, limit)
	}
	const refused = 3
	for i := range refused {
		r := bus.waitFor(t, purge(-1-i), 1)[0]
		var resp apiResponse
		if err := json.Unmarshal(r.Data, &resp); err != nil || resp.Error == nil || resp.Error.Code != 503 || resp.Error.ErrCode != 10008 {
			t.Fatalf("request beyond request_queue_limit: %s; want a 503 with err_code 10008", r.Data)
		}
	}
	waitCond(t, "api_limit_reached advisories counting every refused request", func() bool {
		n := 0
		for _, m := range bus.to(subjAPILimitReached) {
			var a apiLimitAdvisory
			if json.Unmarshal(m.Data, &a) != nil || a.Type != typeAPILimitReached {
				t.Fatalf("advisory %s", m.Data)
			}
			n += int(a.Dropped)
		}
		return n == refused
	})

	close(release)
	released = true
	for _, inbox := range inboxes {
		if r := bus.waitFor(t, inbox, 1)[0]; bytes.Contains(r.Data, []byte(`"error"`)) {
			t.Fatalf("queued purge: %s", r.Data)
		}
	}
	if n := js.api.queued(); n != 0 {
		t.Errorf("%d requests still queued after all were answered", n)
	}
}

func TestAPIQueueLimitDefaults(t *testing.T) {
	tests := []struct {
		req, info         int
		wantReq, wantInfo int
	}{
		{0, 0, defaultRequestQueueLimit, defaultRequestQueueLimit},
		{100, 0, 100, 100},
		{100, 20, 100, 20},
		{0, 20, defaultRequestQueueLimit, 20},
	}
	for _, tt := range tests {
		l := resolveLimits(Config{RequestQueueLimit: tt.req, InfoQueueLimit: tt.info, MaxMemory: -1, MaxStorage: -1}, t.TempDir())
		if l.requestQueue != tt.wantReq || l.infoQueue != tt.wantInfo {
			t.Errorf("request_queue_limit %d, info_queue_limit %d: lanes bound at %d and %d; want %d and %d",
				tt.req, tt.info, l.requestQueue, l.infoQueue, tt.wantReq, tt.wantInfo)
		}
	}
}
