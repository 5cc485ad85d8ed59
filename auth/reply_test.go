package auth

import (
	"strconv"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestTracker(p ResponsePermission, limit int) (*ReplyTracker, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	tr := NewReplyTracker(p, limit)
	tr.now = clk.now
	return tr, clk
}

func TestReplyTrackerMaxMsgs(t *testing.T) {
	tests := []struct {
		maxMsgs int
		want    []bool
	}{
		{0, []bool{true, false}},
		{1, []bool{true, false}},
		{3, []bool{true, true, true, false}},
		{-1, []bool{true, true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.maxMsgs), func(t *testing.T) {
			tr, _ := newTestTracker(ResponsePermission{MaxMsgs: tt.maxMsgs}, 0)
			reply := []byte("_INBOX.x.1")
			if tr.Allow(reply) {
				t.Fatalf("Allow before Record = true; want false")
			}
			tr.Record(reply)
			for i, want := range tt.want {
				if got := tr.Allow(reply); got != want {
					t.Errorf("MaxMsgs %d, publish %d: Allow = %v; want %v", tt.maxMsgs, i+1, got, want)
				}
			}
			if tt.maxMsgs >= 0 && tr.Len() != 0 {
				t.Errorf("Len after last reply = %d; want 0", tr.Len())
			}
		})
	}
}

func TestReplyTrackerExpiry(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Duration
		wait    time.Duration
		want    bool
	}{
		{"within", time.Second, 999 * time.Millisecond, true},
		{"at the limit", time.Second, time.Second, true},
		{"after", time.Second, time.Second + time.Nanosecond, false},
		{"no expiry", 0, 1000 * time.Hour, true},
		{"negative is no expiry", -time.Second, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, clk := newTestTracker(ResponsePermission{Expires: tt.expires}, 0)
			tr.Record([]byte("r"))
			clk.advance(tt.wait)
			if got := tr.Allow([]byte("r")); got != tt.want {
				t.Errorf("Expires %v, after %v: Allow = %v; want %v", tt.expires, tt.wait, got, tt.want)
			}
			if tr.Len() != 0 {
				t.Errorf("Len = %d; want 0 (used or expired entries removed)", tr.Len())
			}
		})
	}
}

func TestReplyTrackerRerecordResets(t *testing.T) {
	tr, clk := newTestTracker(ResponsePermission{MaxMsgs: 2, Expires: time.Second}, 0)
	r := []byte("r")
	tr.Record(r)
	tr.Allow(r)
	clk.advance(900 * time.Millisecond)
	tr.Record(r) // a new request with the same reply subject
	clk.advance(900 * time.Millisecond)
	for i, want := range []bool{true, true, false} {
		if got := tr.Allow(r); got != want {
			t.Errorf("publish %d after re-record: Allow = %v; want %v", i+1, got, want)
		}
	}
}

func TestReplyTrackerBounded(t *testing.T) {
	const limit = 100
	tr, _ := newTestTracker(ResponsePermission{}, limit)
	for i := range 10 * limit {
		tr.Record([]byte("r." + strconv.Itoa(i)))
		if n := tr.Len(); n > limit {
			t.Fatalf("after %d records Len = %d; want at most %d", i+1, n, limit)
		}
	}
	last := []byte("r." + strconv.Itoa(10*limit-1))
	if !tr.Allow(last) {
		t.Errorf("Allow(most recent reply) = false; want true")
	}
	tr.Record(nil)
	if tr.Allow(nil) {
		t.Errorf("Allow(empty) = true; want false")
	}
}

func TestReplyTrackerPrunesExpired(t *testing.T) {
	tr, clk := newTestTracker(ResponsePermission{Expires: time.Second}, 0)
	for i := range 1000 {
		tr.Record([]byte("r." + strconv.Itoa(i)))
		clk.advance(10 * time.Millisecond)
	}
	// Only the last 100 (one second's worth) are live; sweeping keeps the
	// table within a small multiple of that.
	if n := tr.Len(); n > 2*100+replyPruneFloor {
		t.Errorf("Len = %d; want expired entries swept (at most %d)", n, 2*100+replyPruneFloor)
	}
}

func TestReplyTrackerAllowNoAlloc(t *testing.T) {
	tr := NewReplyTracker(ResponsePermission{MaxMsgs: -1}, 0)
	r := []byte("_INBOX.abcdef.1")
	tr.Record(r)
	allocs := testing.AllocsPerRun(1000, func() {
		tr.Allow(r)
		tr.Allow([]byte("_INBOX.unknown"))
		tr.Record(r)
	})
	if allocs != 0 {
		t.Errorf("Allow/Record of a known reply allocates %v times; want 0", allocs)
	}
}
