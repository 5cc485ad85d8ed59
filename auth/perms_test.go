package auth

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
)

func mustChecker(t testing.TB, p *Permissions) *Checker {
	t.Helper()
	pol, err := compilePermissions(p)
	if err != nil {
		t.Fatalf("compilePermissions: %v", err)
	}
	return newChecker(pol)
}

func TestCanPublish(t *testing.T) {
	tests := []struct {
		name    string
		perm    SubjectPermission
		subject string
		want    bool
	}{
		{"no lists", SubjectPermission{}, "foo", true},
		{"allow literal", SubjectPermission{Allow: []string{"foo"}}, "foo", true},
		{"allow literal miss", SubjectPermission{Allow: []string{"foo"}}, "bar", false},
		{"allow pwc", SubjectPermission{Allow: []string{"sensors.*.temp"}}, "sensors.a.temp", true},
		{"allow pwc too deep", SubjectPermission{Allow: []string{"sensors.*.temp"}}, "sensors.a.b.temp", false},
		{"allow fwc", SubjectPermission{Allow: []string{"sensors.>"}}, "sensors.a.b.c", true},
		{"allow fwc needs a token", SubjectPermission{Allow: []string{"sensors.>"}}, "sensors", false},
		{"second allow entry", SubjectPermission{Allow: []string{"a", "b.>"}}, "b.c", true},
		{"deny only", SubjectPermission{Deny: []string{"admin.>"}}, "admin.reboot", false},
		{"deny only other", SubjectPermission{Deny: []string{"admin.>"}}, "sensors.x", true},
		{"deny wins", SubjectPermission{Allow: []string{">"}, Deny: []string{"admin.*"}}, "admin.reboot", false},
		{"deny narrower", SubjectPermission{Allow: []string{">"}, Deny: []string{"admin.*"}}, "admin.reboot.now", true},
		{"wildcard subject is literal", SubjectPermission{Allow: []string{"foo.bar"}}, "foo.*", false},
		{"wildcard subject within allow", SubjectPermission{Allow: []string{"foo.>"}}, "foo.*", true},
		{"wildcard subject vs deny", SubjectPermission{Deny: []string{"foo.bar"}}, "foo.*", true},
		{"case sensitive", SubjectPermission{Allow: []string{"Foo"}}, "foo", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChecker(t, &Permissions{Publish: tt.perm})
			for range 2 { // second call is served from the cache
				if got := c.CanPublish([]byte(tt.subject)); got != tt.want {
					t.Fatalf("CanPublish(%q) with %+v = %v; want %v", tt.subject, tt.perm, got, tt.want)
				}
			}
		})
	}
}

func TestCanSubscribe(t *testing.T) {
	tests := []struct {
		name           string
		perm           SubjectPermission
		subject, queue string
		want           bool
	}{
		{"no lists", SubjectPermission{}, ">", "", true},
		{"allow literal", SubjectPermission{Allow: []string{"foo"}}, "foo", "", true},
		{"allow literal miss", SubjectPermission{Allow: []string{"foo"}}, "bar", "", false},
		{"pwc within fwc", SubjectPermission{Allow: []string{"foo.>"}}, "foo.*", "", true},
		{"fwc within fwc", SubjectPermission{Allow: []string{"foo.>"}}, "foo.bar.>", "", true},
		{"fwc not within pwc", SubjectPermission{Allow: []string{"foo.*"}}, "foo.>", "", false},
		{"pwc not within literal", SubjectPermission{Allow: []string{"foo.bar"}}, "foo.*", "", false},
		{"pwc not within union", SubjectPermission{Allow: []string{"foo.a", "foo.b"}}, "foo.*", "", false},
		{"full wildcard", SubjectPermission{Allow: []string{">"}}, ">", "", true},
		{"deny literal", SubjectPermission{Deny: []string{"foo.secret"}}, "foo.secret", "", false},
		{"deny overlapped by fwc", SubjectPermission{Deny: []string{"foo.secret"}}, "foo.>", "", true},
		{"deny overlapped by pwc", SubjectPermission{Deny: []string{"foo.secret"}}, "foo.*", "", true},
		{"deny overlapped by full wildcard", SubjectPermission{Deny: []string{"foo.secret"}}, ">", "", true},
		{"deny pwc same filter", SubjectPermission{Deny: []string{"foo.*"}}, "foo.*", "", false},
		{"deny fwc covers pwc filter", SubjectPermission{Deny: []string{"foo.>"}}, "foo.*", "", false},
		{"deny fwc same filter", SubjectPermission{Deny: []string{"foo.>"}}, "foo.>", "", false},
		{"deny pwc vs wider fwc", SubjectPermission{Deny: []string{"foo.*"}}, "foo.>", "", false},
		{"deny fwc vs narrower fwc", SubjectPermission{Deny: []string{"foo.>"}}, "foo.bar.>", "", false},
		{"deny within allow overlapped", SubjectPermission{Allow: []string{"foo.>"}, Deny: []string{"foo.secret.>"}}, "foo.>", "", true},
		{"deny not overlapped", SubjectPermission{Deny: []string{"foo.secret"}}, "foo.public", "", true},
		{"deny wildcard vs literal", SubjectPermission{Deny: []string{"foo.*"}}, "foo.bar", "", false},
		{"deny wins over allow", SubjectPermission{Allow: []string{"foo.>"}, Deny: []string{"foo.secret.>"}}, "foo.secret.x", "", false},
		{"deny after allow", SubjectPermission{Allow: []string{"foo.>"}, Deny: []string{"foo.secret.>"}}, "foo.public", "", true},
		{"plain allow admits queue", SubjectPermission{Allow: []string{"jobs.>"}}, "jobs.a", "workers", true},
		{"queue allow", SubjectPermission{Allow: []string{"jobs.> workers"}}, "jobs.a", "workers", true},
		{"queue allow other queue", SubjectPermission{Allow: []string{"jobs.> workers"}}, "jobs.a", "thieves", false},
		{"queue allow needs queue", SubjectPermission{Allow: []string{"jobs.> workers"}}, "jobs.a", "", false},
		{"queue allow wildcard queue", SubjectPermission{Allow: []string{"jobs.> workers.*"}}, "jobs.a", "workers.eu", true},
		{"queue entry overrides plain", SubjectPermission{Allow: []string{"jobs.>", "jobs.a workers"}}, "jobs.a", "thieves", false},
		{"plain still used elsewhere", SubjectPermission{Allow: []string{"jobs.>", "jobs.a workers"}}, "jobs.b", "thieves", true},
		{"plain sub with queue entries", SubjectPermission{Allow: []string{"jobs.>", "jobs.a workers"}}, "jobs.a", "", true},
		{"queue deny", SubjectPermission{Deny: []string{"jobs.> thieves"}}, "jobs.a", "thieves", false},
		{"queue deny other queue", SubjectPermission{Deny: []string{"jobs.> thieves"}}, "jobs.a", "workers", true},
		{"queue deny plain sub", SubjectPermission{Deny: []string{"jobs.> thieves"}}, "jobs.a", "", true},
		{"plain deny queue sub", SubjectPermission{Deny: []string{"jobs.a"}}, "jobs.a", "workers", false},
		{"invalid filter", SubjectPermission{Deny: []string{"x"}}, "foo..bar", "", false},
		{"misplaced fwc", SubjectPermission{Allow: []string{">"}}, "foo.>.bar", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChecker(t, &Permissions{Subscribe: tt.perm})
			if got := c.CanSubscribe([]byte(tt.subject), []byte(tt.queue)); got != tt.want {
				t.Errorf("CanSubscribe(%q, %q) with %+v = %v; want %v", tt.subject, tt.queue, tt.perm, got, tt.want)
			}
		})
	}
}

func TestSubscribeDeniedOverlap(t *testing.T) {
	tests := []struct {
		name           string
		perm           SubjectPermission
		subject, queue string
		want           bool
	}{
		{"no deny", SubjectPermission{Allow: []string{">"}}, ">", "", false},
		{"fwc over literal deny", SubjectPermission{Deny: []string{"foo.secret"}}, "foo.>", "", true},
		{"pwc over literal deny", SubjectPermission{Deny: []string{"foo.secret"}}, "foo.*", "", true},
		{"full wildcard", SubjectPermission{Deny: []string{"foo.secret"}}, ">", "", true},
		{"disjoint", SubjectPermission{Deny: []string{"foo.secret"}}, "bar.>", "", false},
		{"literal not denied", SubjectPermission{Deny: []string{"foo.secret"}}, "foo.public", "", false},
		{"pwc too short for deny", SubjectPermission{Deny: []string{"foo.a.b"}}, "foo.*", "", false},
		{"queue deny, plain sub", SubjectPermission{Deny: []string{"jobs.secret thieves"}}, "jobs.>", "", false},
		{"queue deny, other queue", SubjectPermission{Deny: []string{"jobs.secret thieves"}}, "jobs.>", "workers", false},
		{"queue deny, its queue", SubjectPermission{Deny: []string{"jobs.secret thieves"}}, "jobs.>", "thieves", true},
		{"plain deny, queue sub", SubjectPermission{Deny: []string{"jobs.secret"}}, "jobs.>", "workers", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChecker(t, &Permissions{Subscribe: tt.perm})
			if got := c.SubscribeDeniedOverlap([]byte(tt.subject), []byte(tt.queue)); got != tt.want {
				t.Errorf("SubscribeDeniedOverlap(%q, %q) with %+v = %v; want %v", tt.subject, tt.queue, tt.perm, got, tt.want)
			}
		})
	}
}

func TestDeniesDelivery(t *testing.T) {
	perm := SubjectPermission{Deny: []string{"foo.secret", "foo.*.key", "admin.>", "jobs.vip thieves"}}
	tests := []struct {
		subject, queue string
		want           bool
	}{
		{"foo.public", "", false},
		{"foo.secret", "", true},
		{"foo.secret", "workers", true},
		{"foo.a.key", "", true},
		{"foo.a.b.key", "", false},
		{"admin", "", false},
		{"admin.reboot", "", true},
		{"jobs.vip", "", false},
		{"jobs.vip", "workers", false},
		{"jobs.vip", "thieves", true},
	}
	c := mustChecker(t, &Permissions{Subscribe: perm})
	for _, tt := range tests {
		for range 2 { // the second call is served from the cache
			if got := c.DeniesDelivery([]byte(tt.subject), []byte(tt.queue)); got != tt.want {
				t.Errorf("DeniesDelivery(%q, %q) = %v; want %v", tt.subject, tt.queue, got, tt.want)
			}
		}
	}
	var nilChecker *Checker
	if nilChecker.DeniesDelivery([]byte("foo.secret"), nil) || nilChecker.SubscribeDeniedOverlap([]byte(">"), nil) {
		t.Errorf("nil Checker withholds deliveries; want none")
	}
}

func TestDeniesDeliveryCachedNoAlloc(t *testing.T) {
	c := mustChecker(t, &Permissions{Subscribe: SubjectPermission{Deny: []string{"sensors.secret.>"}}})
	subj := []byte("sensors.plant1.line3.temp")
	c.DeniesDelivery(subj, nil) // fill the cache
	allocs := testing.AllocsPerRun(1000, func() {
		if c.DeniesDelivery(subj, nil) {
			t.Fatal("DeniesDelivery = true; want false")
		}
	})
	if allocs != 0 {
		t.Errorf("cached DeniesDelivery allocates %v times; want 0", allocs)
	}
}

func TestNilCheckerAllowsAll(t *testing.T) {
	var c *Checker
	if !c.CanPublish([]byte("x")) || !c.CanSubscribe([]byte(">"), nil) {
		t.Errorf("nil Checker denied; want allowed")
	}
	if c.Replies() != nil {
		t.Errorf("nil Checker Replies() = non-nil; want nil")
	}
	if got := mustChecker(t, nil); got != nil {
		t.Errorf("checker for nil permissions = %v; want nil", got)
	}
}

func TestCompilePermissionsErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Permissions
	}{
		{"empty publish", Permissions{Publish: SubjectPermission{Allow: []string{""}}}},
		{"publish with queue", Permissions{Publish: SubjectPermission{Allow: []string{"foo q"}}}},
		{"bad deny", Permissions{Subscribe: SubjectPermission{Deny: []string{"foo..bar"}}}},
		{"misplaced fwc", Permissions{Subscribe: SubjectPermission{Allow: []string{"a.>.b"}}}},
		{"three fields", Permissions{Subscribe: SubjectPermission{Allow: []string{"a b c"}}}},
		{"bad queue", Permissions{Subscribe: SubjectPermission{Allow: []string{"a b..c"}}}},
	}
	for _, tt := range tests {
		if _, err := compilePermissions(&tt.p); err == nil {
			t.Errorf("%s: compilePermissions(%+v) err = nil; want an error", tt.name, tt.p)
		}
	}
}

func TestResponsePermissions(t *testing.T) {
	t.Run("replies only", func(t *testing.T) {
		// allow_responses with no publish allow list: only replies.
		c := mustChecker(t, &Permissions{Response: &ResponsePermission{}})
		if c.CanPublish([]byte("anything")) {
			t.Errorf("CanPublish(anything) = true; want false")
		}
		c.Replies().Record([]byte("_INBOX.abc.1"))
		if got := c.CanPublish([]byte("_INBOX.abc.1")); !got {
			t.Errorf("first reply: CanPublish = %v; want true", got)
		}
		if got := c.CanPublish([]byte("_INBOX.abc.1")); got {
			t.Errorf("second reply: CanPublish = %v; want false (MaxMsgs defaults to 1)", got)
		}
	})
	t.Run("allow list plus replies", func(t *testing.T) {
		c := mustChecker(t, &Permissions{
			Publish:  SubjectPermission{Allow: []string{"svc.>"}, Deny: []string{"_INBOX.>"}},
			Response: &ResponsePermission{MaxMsgs: 2},
		})
		if !c.CanPublish([]byte("svc.x")) {
			t.Errorf("CanPublish(svc.x) = false; want true")
		}
		c.Replies().Record([]byte("_INBOX.r"))
		for i, want := range []bool{true, true, false} {
			if got := c.CanPublish([]byte("_INBOX.r")); got != want {
				t.Errorf("reply %d: CanPublish = %v; want %v", i+1, got, want)
			}
		}
	})
	t.Run("no response permission", func(t *testing.T) {
		c := mustChecker(t, &Permissions{Publish: SubjectPermission{Allow: []string{"a"}}})
		if c.Replies() != nil {
			t.Fatalf("Replies() = non-nil; want nil")
		}
	})
}

func TestPublishCacheBounded(t *testing.T) {
	c := mustChecker(t, &Permissions{Publish: SubjectPermission{Allow: []string{"ok.>"}}})
	for i := range 10 * pubCacheMax {
		s := "ok." + strconv.Itoa(i)
		if i%2 == 1 {
			s = "no." + strconv.Itoa(i)
		}
		if got, want := c.CanPublish([]byte(s)), i%2 == 0; got != want {
			t.Fatalf("CanPublish(%q) = %v; want %v", s, got, want)
		}
	}
	if n := len(c.pubCache); n > pubCacheMax {
		t.Errorf("cache holds %d entries; want at most %d", n, pubCacheMax)
	}
	long := make([]byte, pubCacheMaxKey+1)
	for i := range long {
		long[i] = 'x'
	}
	long = append([]byte("ok."), long...)
	before := len(c.pubCache)
	if !c.CanPublish(long) {
		t.Errorf("CanPublish(long ok subject) = false; want true")
	}
	if len(c.pubCache) > before {
		t.Errorf("long subject was cached; want it checked uncached")
	}
}

func TestCanPublishCachedNoAlloc(t *testing.T) {
	c := mustChecker(t, &Permissions{Publish: SubjectPermission{
		Allow: []string{"sensors.>", "status.*"},
		Deny:  []string{"sensors.secret.>"},
	}})
	subj := []byte("sensors.plant1.line3.temp")
	c.CanPublish(subj) // fill the cache
	allocs := testing.AllocsPerRun(1000, func() {
		if !c.CanPublish(subj) {
			t.Fatal("CanPublish = false; want true")
		}
	})
	if allocs != 0 {
		t.Errorf("cached CanPublish allocates %v times; want 0", allocs)
	}
}

func TestCheckerConcurrent(t *testing.T) {
	c := mustChecker(t, &Permissions{
		Publish:  SubjectPermission{Allow: []string{"even.>"}},
		Response: &ResponsePermission{MaxMsgs: -1},
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2 * pubCacheMax {
				s := fmt.Sprintf("even.%d.%d", g, i)
				if !c.CanPublish([]byte(s)) {
					t.Errorf("CanPublish(%q) = false; want true", s)
					return
				}
				r := fmt.Sprintf("reply.%d.%d", g, i%8)
				c.Replies().Record([]byte(r))
				if !c.CanPublish([]byte(r)) {
					t.Errorf("CanPublish(%q) after Record = false; want true", r)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCanPublish(b *testing.B) {
	c := mustChecker(b, &Permissions{Publish: SubjectPermission{
		Allow: []string{"sensors.>", "status.*"},
		Deny:  []string{"sensors.secret.>"},
	}})
	subj := []byte("sensors.plant1.line3.temp")
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.CanPublish(subj)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.pol.publishAllowed(subj)
		}
	})
}

// PublishAllowed answers from the publish lists alone: it neither grants a
// recorded reply nor uses it up.
func TestPublishAllowed(t *testing.T) {
	c := mustChecker(t, &Permissions{
		Publish:  SubjectPermission{Allow: []string{"svc.>"}, Deny: []string{"svc.admin"}},
		Response: &ResponsePermission{},
	})
	c.Replies().Record([]byte("_INBOX.r"))
	for _, tt := range []struct {
		subject string
		want    bool
	}{
		{"svc.x", true},
		{"svc.admin", false},
		{"_INBOX.r", false},
		{"other", false},
	} {
		if got := c.PublishAllowed([]byte(tt.subject)); got != tt.want {
			t.Errorf("PublishAllowed(%q) = %v; want %v", tt.subject, got, tt.want)
		}
	}
	if !c.CanPublish([]byte("_INBOX.r")) {
		t.Errorf("CanPublish(_INBOX.r) after PublishAllowed = false; want the reply still allowed once")
	}
	var nilChecker *Checker
	if !nilChecker.PublishAllowed([]byte("anything")) {
		t.Errorf("nil Checker: PublishAllowed = false; want true")
	}
}
