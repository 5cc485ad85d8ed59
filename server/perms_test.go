//go:build !race

// The allocation count is checked without the race detector, whose
// instrumentation allocates; the plain test run runs it.

package server

import (
	"testing"

	"github.com/wrenmq/wren/auth"
)

// With permissions, the PUB→MSG path on a cached subject still allocates
// nothing: the publish check and the delivery filter both hit their caches.
func TestPermsPubDeliverAllocs(t *testing.T) {
	a, err := auth.New(auth.Config{Users: []auth.User{
		{Name: "p", Password: "pw", Permissions: &auth.Permissions{
			Publish: auth.SubjectPermission{Allow: []string{"foo.>"}, Deny: []string{"foo.admin"}},
		}},
		{Name: "s", Password: "pw", Permissions: &auth.Permissions{
			Subscribe: auth.SubjectPermission{Deny: []string{"foo.secret"}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := loopServer(t, Options{Auth: a})
	pub := loopClient(t, s, `{"user":"p","pass":"pw","verbose":false}`)
	sub := loopClient(t, s, `{"user":"s","pass":"pw","verbose":false}`)
	send(t, sub, "SUB foo.> 1\r\n")
	if sub.subs["1"] == nil || !sub.subs["1"].filter.Load() {
		t.Fatalf("SUB foo.> with deny foo.secret: not accepted and marked for filtering")
	}
	msgs := []byte("PUB foo.bar 5\r\nhello\r\nPUB foo.secret 5\r\nhello\r\n")
	run := func() {
		sub.out.reset()
		if err := pub.parser.Parse(msgs, pub); err != nil {
			t.Fatalf("Parse: %v", err)
		}
		pub.pc.flush()
	}
	run()
	if got, want := string(sub.out.bytes()), "MSG foo.bar 1 5\r\nhello\r\n"; got != want {
		t.Fatalf("subscriber got %q; want %q", got, want)
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per PUB pair with permissions; want 0", n)
	}
	send(t, pub, "PUB foo.admin 1\r\nx\r\n")
	expectOut(t, pub, "-ERR 'Permissions Violation for Publish to \"foo.admin\"'\r\n")
}
