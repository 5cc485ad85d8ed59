package server

import (
	"encoding/json"
	"sync"
	"time"
)

// The STATSZ heartbeat. With a system account, nats-server publishes its
// statistics (ServerStatsMsg: {"server":…,"statsz":…}, the answer to a
// STATSZ request) on $SYS.SERVER.<id>.STATSZ: 250 ms after start, then at
// doubling intervals up to every 10 s. `nats server watch servers` and
// fleet dashboards listen there. Wren sends the same, to system users
// only, and only while one is subscribed: with nobody listening a beat is
// one timer and one subject match, and no JSON is built. No goroutine
// waits between beats.
const (
	statszFirst = 250 * time.Millisecond
	statszEvery = 10 * time.Second
)

// statszBeat is the heartbeat's timer.
type statszBeat struct {
	mu      sync.Mutex
	t       *time.Timer
	next    time.Duration
	stopped bool
	subject string // $SYS.SERVER.<id>.STATSZ
}

// startStatszHeartbeat arms the first beat, when the system account is on.
func (s *Server) startStatszHeartbeat() {
	if s.sys == nil {
		return
	}
	hb := &s.sys.beat
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.t != nil || hb.stopped {
		return
	}
	hb.subject = "$SYS.SERVER." + s.id + ".STATSZ"
	hb.next = statszFirst
	hb.t = time.AfterFunc(hb.next, s.statszHeartbeat)
}

// stopStatszHeartbeat stops the beats for good.
func (s *Server) stopStatszHeartbeat() {
	if s.sys == nil {
		return
	}
	hb := &s.sys.beat
	hb.mu.Lock()
	hb.stopped = true
	if hb.t != nil {
		hb.t.Stop()
	}
	hb.mu.Unlock()
}

// statszHeartbeat sends one beat, if a system user listens, and arms the
// next.
func (s *Server) statszHeartbeat() {
	hb := &s.sys.beat
	hb.mu.Lock()
	if hb.stopped {
		hb.mu.Unlock()
		return
	}
	hb.next = min(2*hb.next, statszEvery)
	hb.t.Reset(hb.next)
	subject := hb.subject
	hb.mu.Unlock()
	if !s.sys.listening(subject) {
		return
	}
	b, err := json.Marshal(map[string]any{"server": s.sysInfo(), "statsz": s.statsz()})
	if err != nil {
		return
	}
	s.sys.publish(subject, "", nil, b)
}

// listening reports whether a system user subscribes to subject.
func (sa *sysAccount) listening(subject string) bool {
	p := sa.ip.pool.Get().(*producer)
	defer sa.ip.pool.Put(p)
	r := p.match(bytesOf(subject))
	for _, sub := range r.psubs {
		if sub.client.sys.Load() {
			return true
		}
	}
	for i := range r.qsubs {
		for _, sub := range r.qsubs[i].subs {
			if sub.client.sys.Load() {
				return true
			}
		}
	}
	return false
}
