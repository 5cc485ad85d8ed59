package server

import (
	"crypto/rand"
	"encoding/json"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/auth"
)

// The system account, as nats-server has it: the users named in
// Options.SystemUsers may ask the server about itself on
// $SYS.REQ.SERVER.PING[.<what>] and $SYS.REQ.SERVER.<server id>.<what>
// (what: VARZ, CONNZ, SUBSZ, JSZ, HEALTHZ, STATSZ, IDZ, LEAFZ, ACCOUNTZ),
// with the same JSON
// as the monitoring endpoints inside nats-server's {"server":…,"data":…}
// envelope, and hear $SYS.ACCOUNT.<account>.CONNECT and DISCONNECT events
// and the $SYS.SERVER.<id>.STATSZ heartbeat (statsz_heartbeat.go).
// So the nats CLI's server commands work with no HTTP port open.
//
// Wren has one subject space, so $SYS is reserved while the system account
// is on: other clients' publishes there reach nobody (a request gets "no
// responders", as from an account without the system import), and only
// system users receive what the server publishes there. With no system
// account, $SYS subjects are ordinary subjects.

// sysPrefix starts every system account subject.
const sysPrefix = "$SYS."

// globalAccount is the account every non-system client is in, named as
// nats-server names its default account.
const globalAccount = "$G"

// sysAccount is the running system account; Server.sys is nil when it is
// off, and nothing of it exists then.
type sysAccount struct {
	name  string
	users atomic.Pointer[map[string]bool]
	ip    *InProc
	seq   atomic.Uint64
	beat  statszBeat
}

// answering bounds the system requests answered at once; more are
// dropped, as a responder that cannot keep up would drop them.
var answering = make(chan struct{}, 4)

// newSysAccount sets up the system account when o names one.
func (s *Server) newSysAccount(o *Options) {
	if o.SystemAccount == "" {
		return
	}
	sa := &sysAccount{name: o.SystemAccount, ip: s.InProc("system")}
	sa.setUsers(o.SystemUsers)
	s.sys = sa
}

func (sa *sysAccount) setUsers(names []string) {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	sa.users.Store(&m)
}

// reloadSystem takes the new list of system users; turning the system
// account on or off needs a restart.
func (s *Server) reloadSystem(o *Options) {
	if (o.SystemAccount == "") != (s.sys == nil) || (s.sys != nil && o.SystemAccount != s.sys.name) {
		s.log.Warn("configuration change needs a restart to take effect; keeping the running value", "option", "system_account")
	}
	if s.sys != nil {
		s.sys.setUsers(o.SystemUsers)
	}
}

// isSystemUser reports whether id is a user of the system account.
func (s *Server) isSystemUser(id *auth.Identity) bool {
	if s.sys == nil || id == nil || id.Name == "" || id.Method == auth.MethodNone || id.Method == auth.MethodToken {
		return false
	}
	return (*s.sys.users.Load())[id.Name]
}

// account is the account c is in, for events and /connz.
func (c *client) account() string {
	if c.sys.Load() && c.srv.sys != nil {
		return c.srv.sys.name
	}
	return globalAccount
}

// isSysSubject reports whether subject is in the reserved $SYS space.
func isSysSubject(subject []byte) bool {
	return len(subject) >= len(sysPrefix) && string(subject[:len(sysPrefix)]) == sysPrefix
}

// accountPublish answers a client's request about its own account
// ($SYS.REQ.ACCOUNT.PING.STATZ and .CONNZ, $SYS.REQ.SERVER.PING.CONNZ)
// while there is no system account, as nats-server answers every
// account; it reports false for any other publish.
func (c *client) accountPublish(subject, reply, payload []byte) bool {
	what, ok := accountRequest(subject, false)
	if !ok || len(reply) == 0 {
		return false
	}
	s, rep, acc := c.srv, string(reply), c.account()
	s.goAnswer(c, func(body []byte) { s.answerAccount(what, acc, rep, body) }, payload)
	return true
}

// sysPublish handles a client's publish to a $SYS subject while the system
// account is on. A system user's request to the server is answered; its
// other $SYS publishes reach only system users. Anyone else's reach
// nobody.
func (c *client) sysPublish(subject, reply, header, payload []byte) {
	s := c.srv
	if what, ok := accountRequest(subject, c.sys.Load()); ok && len(reply) > 0 {
		// Every account may ask about itself, as nats-server imports
		// these into each account.
		s.goAnswer(c, func(body []byte) { s.answerAccount(what, c.account(), string(reply), body) }, payload)
		return
	}
	if !c.sys.Load() {
		if len(reply) > 0 && c.opts.NoResponders {
			c.pc.noResponders(subject, reply)
		}
		return
	}
	subj := string(subject)
	if what, ok := s.sysRequest(subj); ok && len(reply) > 0 {
		rep := string(reply)
		s.goAnswer(c, func(body []byte) { s.answerSys(what, subj, rep, body) }, payload)
		return
	}
	if !s.sys.publish(subj, string(reply), header, payload) && len(reply) > 0 && c.opts.NoResponders {
		c.pc.noResponders(subject, reply)
	}
}

// goAnswer runs answer with a copy of the request body on its own
// goroutine, a few at a time; a request beyond that is dropped, as by a
// responder that cannot keep up.
func (s *Server) goAnswer(c *client, answer func(body []byte), payload []byte) {
	select {
	case answering <- struct{}{}:
	default:
		s.log.Warn("system request dropped: too many at once", "cid", c.cid)
		return
	}
	body := append([]byte(nil), payload...)
	go func() {
		defer func() { <-answering }()
		answer(body)
	}()
}

// accountRequest returns what a request asks about the requester's own
// account: STATZ or CONNZ ($SYS.REQ.ACCOUNT.PING.*, and for a client
// outside the system account $SYS.REQ.SERVER.PING.CONNZ, which
// nats-server also answers for each account about itself).
func accountRequest(subject []byte, sys bool) (string, bool) {
	switch string(subject) {
	case "$SYS.REQ.ACCOUNT.PING.STATZ":
		return "STATZ", true
	case "$SYS.REQ.ACCOUNT.PING.CONNZ":
		return "CONNZ", true
	case "$SYS.REQ.SERVER.PING.CONNZ":
		return "CONNZ", !sys
	}
	return "", false
}

// answerAccount answers an account's request about itself: its
// connections (CONNZ) or their totals (STATZ), as nats-server's
// account_statz.
func (s *Server) answerAccount(what, acc, reply string, body []byte) {
	var o sysOptions
	if len(body) > 0 && json.Unmarshal(body, &o) != nil {
		o = sysOptions{}
	}
	all := s.Connz(0, 1<<30, o.Subs)
	mine := all.Connections[:0]
	for _, ci := range all.Connections {
		if ci.Account == acc {
			mine = append(mine, ci)
		}
	}
	if what == "CONNZ" {
		cz := *all
		cz.NumConnections, cz.Total = len(mine), len(mine)
		off := min(max(o.Offset, 0), len(mine))
		lim := o.Limit
		if lim <= 0 {
			lim = 1024
		}
		cz.Offset, cz.Limit = off, lim
		cz.Connections = mine[off:min(off+lim, len(mine))]
		s.sysReply(reply, map[string]any{"server": s.sysInfo(), "data": &cz})
		return
	}
	st := map[string]any{"acc": acc, "name": acc, "conns": len(mine), "leafnodes": 0, "total_conns": len(mine)}
	var subs int
	var sent, recv msgBytes
	for _, ci := range mine {
		subs += ci.Subscriptions
		sent.Msgs += ci.OutMsgs
		sent.Bytes += ci.OutBytes
		recv.Msgs += ci.InMsgs
		recv.Bytes += ci.InBytes
	}
	st["num_subscriptions"], st["sent"], st["received"], st["slow_consumers"] = subs, sent, recv, 0
	s.sysReply(reply, map[string]any{"server": s.sysInfo(), "data": map[string]any{
		"server_id": s.id, "now": time.Now().UTC(), "account_statz": []any{st},
	}})
}

// sysRequest returns what a $SYS.REQ.SERVER subject asks of this server:
// "STATSZ" for a bare PING, or the endpoint name.
func (s *Server) sysRequest(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, "$SYS.REQ.SERVER.")
	if !ok {
		return "", false
	}
	target, what, _ := strings.Cut(rest, ".")
	if target != "PING" && target != s.id {
		return "", false
	}
	if what == "" {
		if target != "PING" {
			return "", false
		}
		what = "STATSZ"
	}
	switch what {
	case "VARZ", "CONNZ", "SUBSZ", "JSZ", "HEALTHZ", "STATSZ", "IDZ", "LEAFZ", "ACCOUNTZ":
		return what, true
	}
	return "", false
}

// publish delivers a message on a $SYS subject to the system users
// subscribed to it (one per queue group); it reports whether any got it.
func (sa *sysAccount) publish(subject, reply string, header, data []byte) bool {
	ip := sa.ip
	p := ip.pool.Get().(*producer)
	defer func() {
		p.flush()
		ip.pool.Put(p)
	}()
	subj, rep := bytesOf(subject), bytesOf(reply)
	r := p.match(subj)
	delivered := false
	for _, sub := range r.psubs {
		if sub.client.sys.Load() && p.deliver(sub, subj, rep, header, data) {
			delivered = true
		}
	}
	for i := range r.qsubs {
		for _, sub := range r.qsubs[i].subs {
			if sub.client.sys.Load() && p.deliver(sub, subj, rep, header, data) {
				delivered = true
				break
			}
		}
	}
	return delivered
}

// sysServerInfo is nats-server's ServerInfo: who sent a system message.
type sysServerInfo struct {
	Name      string    `json:"name"`
	Host      string    `json:"host"`
	ID        string    `json:"id"`
	Version   string    `json:"ver"`
	Wren      string    `json:"wren_version"`
	JetStream bool      `json:"jetstream"`
	Flags     uint64    `json:"flags"`
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
}

func (s *Server) sysInfo() *sysServerInfo {
	si := &sysServerInfo{
		Name: s.opts.ServerName, Host: s.opts.Host, ID: s.id, Version: CompatVersion, Wren: Version,
		JetStream: s.streamReport() != nil, Time: time.Now().UTC(),
	}
	if s.sys != nil {
		si.Seq = s.sys.seq.Add(1)
	}
	if si.Host == "" {
		si.Host = "0.0.0.0"
	}
	if si.JetStream {
		si.Flags = 1
	}
	return si
}

// sysFilter is nats-server's EventFilterOptions: which servers a PING asks.
type sysFilter struct {
	Name    string   `json:"server_name"`
	Cluster string   `json:"cluster"`
	Host    string   `json:"host"`
	Tags    []string `json:"tags"`
	Domain  string   `json:"domain"`
	Exact   bool     `json:"exact_match"`
}

// excludes reports whether f leaves this server out.
func (f *sysFilter) excludes(s *Server) bool {
	host := s.opts.Host
	if host == "" {
		host = "0.0.0.0"
	}
	match := func(want, have string) bool {
		if want == "" {
			return true
		}
		if f.Exact {
			return want == have
		}
		return strings.Contains(have, want)
	}
	// Wren is in no cluster, has no tags and no JetStream domain.
	return !match(f.Name, s.opts.ServerName) || !match(f.Host, host) || f.Cluster != "" || len(f.Tags) > 0 || f.Domain != ""
}

// sysOptions are the request bodies' fields Wren reads: the filter, and
// /connz's paging.
type sysOptions struct {
	sysFilter
	Offset int  `json:"offset"`
	Limit  int  `json:"limit"`
	Subs   bool `json:"subscriptions"`
}

// answerSys answers one system request on reply.
func (s *Server) answerSys(what, subject, reply string, body []byte) {
	var o sysOptions
	if len(body) > 0 {
		if err := json.Unmarshal(body, &o); err != nil {
			s.sysReply(reply, map[string]any{"server": s.sysInfo(), "error": map[string]any{"code": 400, "description": "bad request: " + err.Error()}})
			return
		}
	}
	if strings.HasPrefix(subject, "$SYS.REQ.SERVER.PING") && o.excludes(s) {
		return
	}
	var data any
	switch what {
	case "IDZ":
		host := s.opts.Host
		if host == "" {
			host = "0.0.0.0"
		}
		s.sysReply(reply, map[string]string{"name": s.opts.ServerName, "host": host, "id": s.id})
		return
	case "STATSZ":
		s.sysReply(reply, map[string]any{"server": s.sysInfo(), "statsz": s.statsz()})
		return
	case "VARZ":
		data = s.Varz()
	case "CONNZ":
		data = s.Connz(o.Offset, o.Limit, o.Subs)
	case "SUBSZ":
		data = s.Subsz()
	case "ACCOUNTZ":
		// The application's account and the system account: the only two.
		data = map[string]any{"server_id": s.id, "now": time.Now().UTC(), "system_account": s.sys.name,
			"accounts": []string{globalAccount, s.sys.name}}
	case "LEAFZ":
		s.extra.mu.Lock()
		f := s.extra.routes["/leafz"]
		s.extra.mu.Unlock()
		if f == nil {
			data = map[string]any{"server_id": s.id, "now": time.Now().UTC(), "leafnodes": 0, "leafs": []any{}}
		} else {
			q := url.Values{}
			if o.Subs {
				q.Set("subs", "1")
			}
			data = f(q)
		}
	case "HEALTHZ":
		h := map[string]any{"status": "ok", "status_code": 200}
		if err := s.healthErr(); err != nil {
			h = map[string]any{"status": "unavailable", "status_code": 503, "error": err.Error()}
		}
		data = h
	case "JSZ":
		rep := s.streamReport()
		if rep == nil {
			s.sysReply(reply, map[string]any{"server": s.sysInfo(), "error": map[string]any{"code": 503, "description": "JetStream not enabled"}})
			return
		}
		data = withServerID(rep, s.id)
	}
	s.sysReply(reply, map[string]any{"server": s.sysInfo(), "data": data})
}

// withServerID returns the stream layer's report with the server's id
// added, as nats-server's JSZ carries it.
func withServerID(rep any, id string) any {
	b, err := json.Marshal(rep)
	if err != nil {
		return rep
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return rep
	}
	m["server_id"] = id
	return m
}

func (s *Server) sysReply(reply string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode system reply", "error", err)
		return
	}
	s.internal().Publish(reply, "", nil, b)
}

// msgBytes is a message and byte count pair in events and STATSZ.
type msgBytes struct {
	Msgs  int64 `json:"msgs"`
	Bytes int64 `json:"bytes"`
}

// statsz is nats-server's ServerStats, with the fields Wren has.
func (s *Server) statsz() map[string]any {
	st := s.Stats()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	z := map[string]any{
		"start":             st.Start,
		"mem":               memInUse(&ms),
		"cores":             runtime.NumCPU(),
		"gomaxprocs":        runtime.GOMAXPROCS(0),
		"cpu":               s.cpu.percent(time.Now()),
		"connections":       st.Connections,
		"total_connections": st.TotalConnections,
		"active_accounts":   1,
		"subscriptions":     st.Subscriptions,
		"sent":              msgBytes{st.OutMsgs, st.OutBytes},
		"received":          msgBytes{st.InMsgs, st.InBytes},
		"slow_consumers":    st.SlowConsumers,
		"active_servers":    1,
	}
	if js := jetStreamVarz(s.streamReport()); js != nil {
		z["jetstream"] = js
	}
	return z
}

// jetStreamVarz is the jetstream section of /varz and STATSZ as
// nats-server shapes it, {"config":…,"stats":…}, from the stream layer's
// report (nil when there is none); /jsz has the detail.
func jetStreamVarz(rep any) any {
	if rep == nil {
		return nil
	}
	m, ok := withServerID(rep, "").(map[string]any)
	if !ok {
		return nil
	}
	cfg, _ := m["config"].(map[string]any)
	if cfg != nil && cfg["sync"] == "always" {
		cfg["sync_always"] = true
	}
	return map[string]any{
		"config": cfg,
		"stats":  map[string]any{"memory": m["memory"], "storage": m["storage"], "accounts": 1, "api": m["api"]},
	}
}

// sysClientInfo is nats-server's ClientInfo in connect and disconnect
// events.
type sysClientInfo struct {
	Start   time.Time  `json:"start"`
	Host    string     `json:"host,omitempty"`
	ID      uint64     `json:"id"`
	Account string     `json:"acc"`
	User    string     `json:"user,omitempty"`
	Name    string     `json:"name,omitempty"`
	Lang    string     `json:"lang,omitempty"`
	Version string     `json:"ver,omitempty"`
	Server  string     `json:"server,omitempty"`
	Stop    *time.Time `json:"stop,omitempty"`
	Kind    string     `json:"kind"`
	Type    string     `json:"client_type"`
}

// connectEvent announces a client that has just connected.
func (s *Server) connectEvent(c *client) {
	if s.sys == nil || c.kind != kindClient {
		return
	}
	s.sysEvent(c, "CONNECT", "io.nats.server.advisory.v1.client_connect", nil)
}

// disconnectEvent announces a connected client that has gone.
func (s *Server) disconnectEvent(c *client) {
	if s.sys == nil || c.kind != kindClient {
		return
	}
	c.mu.Lock()
	connected, reason, out := c.connected, c.reason, msgBytes{c.outMsgs, c.outBytes}
	c.mu.Unlock()
	if !connected {
		return
	}
	extra := map[string]any{
		"sent":     out,
		"received": msgBytes{c.inMsgs.Load(), c.inBytes.Load()},
		"reason":   reason,
	}
	s.sysEvent(c, "DISCONNECT", "io.nats.server.advisory.v1.client_disconnect", extra)
}

func (s *Server) sysEvent(c *client, event, typ string, extra map[string]any) {
	c.mu.Lock()
	ci := sysClientInfo{
		Start: c.start.UTC(), Host: c.host, ID: c.cid, Account: c.account(), User: c.auth.user,
		Name: c.opts.Name, Lang: c.opts.Lang, Version: c.opts.Version, Server: s.opts.ServerName,
		Kind: "Client", Type: "nats",
	}
	c.mu.Unlock()
	if extra != nil {
		now := time.Now().UTC()
		ci.Stop = &now
	}
	ev := map[string]any{"type": typ, "id": eventID(), "timestamp": time.Now().UTC(), "server": s.sysInfo(), "client": ci}
	for k, v := range extra {
		ev[k] = v
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	s.sys.publish("$SYS.ACCOUNT."+ci.Account+"."+event, "", nil, b)
}

// eventID is a unique id for an event, 22 characters as nats-server's.
func eventID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [22]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
