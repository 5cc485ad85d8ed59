package server

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/protocol"
)

// A subscription moved back and forth between two sessions while a
// publisher floods its subject delivers every message exactly once, for a
// plain subscription and for a queue group member alike.
func TestSessionMoveDeliversOnce(t *testing.T) {
	for _, queue := range []string{"", "g"} {
		t.Run("queue="+queue, func(t *testing.T) {
			s := loopServer(t, Options{})
			a, err := s.OpenSession(SessionInfo{Name: "a"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.OpenSession(SessionInfo{Name: "b"})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := s.OpenSession(SessionInfo{Name: "pub"})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			defer b.Close()
			defer pub.Close()

			const n = 20000
			got := make([]atomic.Int32, n)
			x, err := a.Subscribe("mv.x", queue, false, func(m *protocol.Msg) {
				i, err := strconv.Atoi(string(m.Data))
				if err != nil || i < 0 || i >= n {
					t.Errorf("unexpected message %q", m.Data)
					return
				}
				got[i].Add(1)
			})
			if err != nil {
				t.Fatal(err)
			}
			var done atomic.Bool
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer done.Store(true)
				for i := 0; i < n; i++ {
					if err := pub.Publish([]byte("mv.x"), nil, nil, []byte(strconv.Itoa(i))); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			to := [2]*Session{b, a}
			moves := 0
			for !done.Load() || moves < 2 {
				if x, err = to[moves%2].Move(x); err != nil {
					t.Fatal(err)
				}
				moves++
			}
			wg.Wait()
			if c := s.sl.Count(); c != 1 {
				t.Errorf("%d subscriptions in the index after %d moves; want 1", c, moves)
			}
			for i := range got {
				if c := got[i].Load(); c != 1 {
					t.Fatalf("message %d delivered %d times over %d moves; want once", i, c, moves)
				}
			}
			// The last holder's close ends it; the others hold nothing.
			x.Unsubscribe()
			if c := s.sl.Count(); c != 0 {
				t.Errorf("%d subscriptions in the index after unsubscribing; want 0", c)
			}
		})
	}
}

// Move applies the receiving session's permissions: a refused move leaves
// the subscription where it was, still delivering.
func TestSessionMoveChecksPermissions(t *testing.T) {
	au, err := auth.New(auth.Config{Users: []auth.User{
		{Name: "all", Password: "pw"},
		{Name: "some", Password: "pw", Permissions: &auth.Permissions{
			Subscribe: auth.SubjectPermission{Allow: []string{"ok.>"}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := loopServer(t, Options{Auth: au})
	open := func(user string) *Session {
		ss, err := s.OpenSession(SessionInfo{Name: user, Creds: auth.ConnectCreds{User: user, Pass: "pw"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ss.Close)
		return ss
	}
	all, some := open("all"), open("some")
	var n atomic.Int32
	x, err := all.Subscribe("no.x", "", false, func(*protocol.Msg) { n.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := some.Move(x); !errors.Is(err, ErrPermission) {
		t.Fatalf("move to a session that may not subscribe: %v; want ErrPermission", err)
	}
	if err := all.Publish([]byte("no.x"), nil, nil, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Errorf("after a refused move the subscription got %d messages; want 1", n.Load())
	}
}
