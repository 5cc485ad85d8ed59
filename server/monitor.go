package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Monitoring over HTTP, with the endpoint names and the core fields of the
// reference server's, so existing dashboards and scripts find what they
// expect: /healthz, /varz, /connz, /subsz and /jsz.

// Varz is the /varz document.
type Varz struct {
	ServerID         string    `json:"server_id"`
	ServerName       string    `json:"server_name"`
	Version          string    `json:"version"`
	Wren             string    `json:"wren_version"`
	GitCommit        string    `json:"git_commit,omitempty"`
	Target           string    `json:"target"`
	Proto            int       `json:"proto"`
	GoVersion        string    `json:"go"`
	Host             string    `json:"host"`
	Port             int       `json:"port"`
	MaxConnections   int       `json:"max_connections"`
	MaxPayload       int       `json:"max_payload"`
	MaxPending       int64     `json:"max_pending"`
	MaxControlLine   int       `json:"max_control_line"`
	PingInterval     int64     `json:"ping_interval"`
	MaxPingsOut      int       `json:"ping_max"`
	Start            time.Time `json:"start"`
	Now              time.Time `json:"now"`
	Uptime           string    `json:"uptime"`
	Mem              uint64    `json:"mem"`
	Cores            int       `json:"cores"`
	CPU              float64   `json:"cpu"`
	Connections      int       `json:"connections"`
	Leafnodes        int       `json:"leafnodes"`
	TotalConnections int64     `json:"total_connections"`
	InMsgs           int64     `json:"in_msgs"`
	OutMsgs          int64     `json:"out_msgs"`
	InBytes          int64     `json:"in_bytes"`
	OutBytes         int64     `json:"out_bytes"`
	SlowConsumers    int64     `json:"slow_consumers"`
	Subscriptions    int       `json:"subscriptions"`
	JetStream        any       `json:"jetstream,omitempty"`
	LameDuckMode     bool      `json:"lame_duck_mode,omitempty"`
	AuthFailures     int64     `json:"auth_failures"`
	SystemAccount    string    `json:"system_account,omitempty"`
	AuthRequired     bool      `json:"auth_required,omitempty"`
}

// ConnInfo is one connection in /connz.
type ConnInfo struct {
	Cid           uint64    `json:"cid"`
	Kind          string    `json:"kind"`
	Type          string    `json:"type,omitempty"` // nats, websocket or mqtt
	IP            string    `json:"ip,omitempty"`
	Port          int       `json:"port,omitempty"`
	Start         time.Time `json:"start"`
	Uptime        string    `json:"uptime"`
	PendingBytes  int       `json:"pending_bytes"`
	InMsgs        int64     `json:"in_msgs"`
	OutMsgs       int64     `json:"out_msgs"`
	InBytes       int64     `json:"in_bytes"`
	OutBytes      int64     `json:"out_bytes"`
	Subscriptions int       `json:"subscriptions"`
	Name          string    `json:"name,omitempty"`
	Lang          string    `json:"lang,omitempty"`
	Version       string    `json:"version,omitempty"`
	Account       string    `json:"account,omitempty"`
	TLS           bool      `json:"tls,omitempty"`
	Subs          []string  `json:"subscriptions_list,omitempty"`
	MQTTClient    string    `json:"mqtt_client,omitempty"` // the MQTT client id
}

// Connz is the /connz document.
type Connz struct {
	ServerID       string     `json:"server_id"`
	Now            time.Time  `json:"now"`
	NumConnections int        `json:"num_connections"`
	Total          int        `json:"total"`
	Offset         int        `json:"offset"`
	Limit          int        `json:"limit"`
	Connections    []ConnInfo `json:"connections"`
}

// Subsz is the /subsz document.
type Subsz struct {
	ServerID         string    `json:"server_id"`
	Now              time.Time `json:"now"`
	NumSubscriptions int       `json:"num_subscriptions"`
	NumCache         int       `json:"num_cache"`
	NumInserts       uint64    `json:"num_inserts"`
	NumRemoves       uint64    `json:"num_removes"`
	NumMatches       uint64    `json:"num_matches"`
	CacheHitRate     float64   `json:"cache_hit_rate"`
}

// monitor holds the monitoring listener and the hooks the stream layer
// registers: its report for /jsz and /varz, its check for /healthz.
type monitor struct {
	jsz    atomic.Pointer[func() any]
	health atomic.Pointer[func() error]

	metrics metricsHooks

	mu  sync.Mutex
	srv *httpServer
	ln  net.Listener
}

// SetStreamReport registers a function that describes the stream layer for
// /jsz and the jetstream section of /varz.
func (s *Server) SetStreamReport(f func() any) { s.mon.jsz.Store(&f) }

// SetHealthCheck registers a check for /healthz: while it returns an
// error, /healthz answers 503 {"status":"unavailable","error":...}.
func (s *Server) SetHealthCheck(f func() error) { s.mon.health.Store(&f) }

func (s *Server) healthErr() error {
	if f := s.mon.health.Load(); f != nil {
		return (*f)()
	}
	return nil
}

func (s *Server) streamReport() any {
	if f := s.mon.jsz.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// Varz returns the server's general report.
func (s *Server) Varz() *Varz {
	st := s.Stats()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	now := time.Now()
	lim := s.lim()
	v := &Varz{
		ServerID:         s.id,
		ServerName:       s.opts.ServerName,
		Version:          CompatVersion,
		Wren:             Version,
		GitCommit:        BuildCommit(),
		Target:           Target,
		Proto:            1,
		GoVersion:        runtime.Version(),
		Host:             s.opts.Host,
		Port:             s.opts.Port,
		MaxConnections:   lim.maxConns,
		MaxPayload:       lim.maxPayload,
		MaxPending:       lim.maxPending,
		MaxControlLine:   lim.maxControlLine,
		PingInterval:     int64(lim.pingInterval),
		MaxPingsOut:      lim.maxPingsOut,
		Start:            s.start,
		Now:              now,
		Uptime:           now.Sub(s.start).Round(time.Second).String(),
		Mem:              memInUse(&ms),
		Cores:            runtime.NumCPU(),
		CPU:              s.cpu.percent(now),
		Connections:      st.Connections,
		Leafnodes:        st.Leafnodes,
		TotalConnections: st.TotalConnections,
		InMsgs:           st.InMsgs,
		OutMsgs:          st.OutMsgs,
		InBytes:          st.InBytes,
		OutBytes:         st.OutBytes,
		SlowConsumers:    st.SlowConsumers,
		Subscriptions:    st.Subscriptions,
		JetStream:        jetStreamVarz(s.streamReport()),
		LameDuckMode:     s.InLameDuckMode(),
		AuthFailures:     s.stats.authFailures.Load(),
	}
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		v.Port = a.Port
	}
	if s.sys != nil {
		v.SystemAccount = s.sys.name
	}
	v.AuthRequired = s.authRequired()
	return v
}

// Connz returns the open client connections, oldest first, paged.
func (s *Server) Connz(offset, limit int, subs bool) *Connz {
	if limit <= 0 {
		limit = 1024
	}
	now := time.Now()
	s.mu.Lock()
	clients := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		if c.isConn() {
			clients = append(clients, c)
		}
	}
	s.mu.Unlock()
	sort.Slice(clients, func(i, j int) bool { return clients[i].cid < clients[j].cid })
	cz := &Connz{ServerID: s.id, Now: now, NumConnections: len(clients), Total: len(clients), Offset: offset, Limit: limit, Connections: []ConnInfo{}}
	if offset < 0 || offset > len(clients) {
		offset = len(clients)
	}
	clients = clients[offset:]
	if len(clients) > limit {
		clients = clients[:limit]
	}
	for _, c := range clients {
		c.mu.Lock()
		ci := ConnInfo{
			Cid: c.cid, Kind: "Client", Type: "nats", IP: c.host, Port: c.port, Start: c.start,
			Uptime: now.Sub(c.start).Round(time.Second).String(), PendingBytes: c.out.pending(),
			InMsgs: c.inMsgs.Load(), InBytes: c.inBytes.Load(), OutMsgs: c.outMsgs, OutBytes: c.outBytes,
			Subscriptions: len(c.subs), Name: c.opts.Name, Lang: c.opts.Lang, Version: c.opts.Version,
			TLS: c.tlsState != nil, Account: c.account(),
		}
		switch {
		case c.sess != nil:
			// An MQTT client: nats-server's type and client id field.
			ci.Type, ci.MQTTClient, ci.TLS = c.opts.Lang, c.opts.Name, c.sess.tls
		case c.websocket:
			ci.Type = "websocket"
		}
		if subs {
			for _, sub := range c.subs {
				ci.Subs = append(ci.Subs, sub.subject)
			}
			sort.Strings(ci.Subs)
		}
		c.mu.Unlock()
		cz.Connections = append(cz.Connections, ci)
	}
	return cz
}

// Subsz returns the subject index's counters.
func (s *Server) Subsz() *Subsz {
	st := s.sl.Stats()
	sz := &Subsz{
		ServerID: s.id, Now: time.Now(), NumSubscriptions: st.Subscriptions, NumCache: st.Cached,
		NumInserts: st.Inserts, NumRemoves: st.Removes, NumMatches: st.Matches,
	}
	if st.Matches > 0 {
		sz.CacheHitRate = float64(st.CacheHits) / float64(st.Matches)
	}
	return sz
}

// MonitorOptions configure the monitoring listener.
type MonitorOptions struct {
	Host string
	Port int // 0 or -1 picks a free port
	// Token, when set, must come as "Authorization: Bearer <token>" on
	// every path but /healthz and the dashboard page.
	Token string
}

// StartMonitoring serves the monitoring endpoints on host:port (port 0
// picks a free one) and returns the address it listens on.
func (s *Server) StartMonitoring(host string, port int) (net.Addr, error) {
	return s.StartMonitoringWith(MonitorOptions{Host: host, Port: port})
}

// StartMonitoringWith serves the monitoring endpoints as o says and
// returns the address it listens on.
func (s *Server) StartMonitoringWith(o MonitorOptions) (net.Addr, error) {
	addr := net.JoinHostPort(o.Host, strconv.Itoa(max(o.Port, 0)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("monitoring listen on %s: %w", addr, err)
	}
	hs := newHTTPServer(s.monitorRoutes(), s.log)
	hs.token = o.Token
	hs.open = map[string]bool{"/healthz": true, "/": true}
	s.mon.mu.Lock()
	s.mon.srv = hs
	s.mon.mu.Unlock()
	go hs.serve(ln)
	s.log.Info("monitoring listening", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// stopMonitoring closes the monitoring listener, if any.
func (s *Server) stopMonitoring() {
	s.mon.mu.Lock()
	hs := s.mon.srv
	s.mon.srv = nil
	s.mon.mu.Unlock()
	if hs != nil {
		hs.close()
	}
}

// monitorRoutes maps each monitoring path to what it answers.
func (s *Server) monitorRoutes() map[string]httpRoute {
	routes := map[string]httpRoute{
		"/healthz": func(url.Values) httpReply {
			if err := s.healthErr(); err != nil {
				return jsonReply(503, map[string]string{"status": "unavailable", "error": err.Error()})
			}
			return jsonReply(200, map[string]string{"status": "ok"})
		},
		"/varz": func(url.Values) httpReply { return jsonReply(200, s.Varz()) },
		"/connz": func(q url.Values) httpReply {
			offset, _ := strconv.Atoi(q.Get("offset"))
			limit, _ := strconv.Atoi(q.Get("limit"))
			subs := q.Get("subs") == "1" || q.Get("subs") == "true" || q.Get("subs") == "detail"
			return jsonReply(200, s.Connz(offset, limit, subs))
		},
		"/subsz": func(url.Values) httpReply { return jsonReply(200, s.Subsz()) },
		"/metrics": func(url.Values) httpReply {
			return httpReply{status: 200, ctype: "text/plain; version=0.0.4; charset=utf-8", body: s.Metrics()}
		},
		"/jsz": func(url.Values) httpReply {
			rep := s.streamReport()
			if rep == nil {
				return jsonReply(503, map[string]any{"error": "the stream layer is not enabled"})
			}
			return jsonReply(200, rep)
		},
		"/": dashboardRoute,
	}
	s.addLateRoutes(routes)
	return routes
}

func jsonReply(status int, v any) httpReply {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return httpText(500, err.Error()+"\n")
	}
	return httpReply{status: status, ctype: "application/json", body: append(b, '\n')}
}
