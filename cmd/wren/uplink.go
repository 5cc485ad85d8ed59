package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"sync"

	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/leaf"
)

// uplink is the gateway's links to its hubs and its forwarded streams.
type uplink struct {
	node     *leaf.Node
	mu       sync.Mutex
	forwards []*jetstore.Forwarder
	pulls    []*jetstore.Puller
}

// leafRemotes turns the leafnodes section into the links' settings,
// reading the TLS files.
func leafRemotes(l conf.Leafnodes) ([]leaf.Remote, error) {
	var out []leaf.Remote
	for i, rc := range l.Remotes {
		r := leaf.Remote{User: rc.User, Password: rc.Password, Token: rc.Token,
			NkeyFile: rc.NkeyFile, CredsFile: rc.Credentials, Compression: rc.Compression,
			DenyExports: rc.DenyExports, DenyImports: rc.DenyImports,
			Reconnect: l.Reconnect.Duration(), ReconnectMax: l.ReconnectMax.Duration(),
			PingInterval: l.PingInterval.Duration(), MaxPingsOut: l.MaxPingsOut}
		for _, s := range rc.URLs {
			u, err := url.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("leafnodes.remotes[%d].urls: %w", i, err)
			}
			r.URLs = append(r.URLs, u)
		}
		if t := rc.TLS; t != nil {
			cfg := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
			if t.CAFile != "" {
				pem, err := os.ReadFile(t.CAFile)
				if err != nil {
					return nil, fmt.Errorf("leafnodes.remotes[%d].tls.ca_file: %w", i, err)
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("leafnodes.remotes[%d].tls.ca_file: no certificate in %s", i, t.CAFile)
				}
				cfg.RootCAs = pool
			}
			if t.CertFile != "" {
				cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
				if err != nil {
					return nil, fmt.Errorf("leafnodes.remotes[%d].tls: %w", i, err)
				}
				cfg.Certificates = []tls.Certificate{cert}
			}
			r.TLS = cfg
		}
		// What a pull brings in arrives through it alone.
		for _, p := range l.Pulls {
			r.DenyImports = append(r.DenyImports, p.Filter)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("leafnodes.remotes[%d]: %w", i, err)
		}
		r.Key = remoteKey(l, rc)
		out = append(out, r)
	}
	return out, nil
}

// startUplink dials the hubs and starts the forwards; nil when no remote
// is configured. srv.TrackInterest must have been called before anything
// subscribed.
func startUplink(cfg *conf.Config, srv *server.Server, js *jetstore.JetStream, name string) (*uplink, error) {
	l := cfg.Leafnodes
	if len(l.Remotes) == 0 {
		return nil, nil
	}
	remotes, err := leafRemotes(l)
	if err != nil {
		return nil, err
	}
	u := &uplink{}
	u.node = leaf.New(srv, leaf.Options{Name: name, Remotes: remotes, Logger: srv.Logger().With("component", "leafnode"),
		OnConnect: func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			for _, f := range u.forwards {
				f.Kick()
			}
			for _, p := range u.pulls {
				p.Kick()
			}
		}})
	u.node.Start()
	srv.SetMonitorRoute("/leafz", func(q url.Values) any { return u.node.Leafz(q.Get("subs") == "1" || q.Get("subs") == "true") })
	for _, fc := range l.Forwards {
		if js == nil {
			u.close()
			return nil, errors.New("leafnodes.forwards need jetstream.enabled")
		}
		f, err := js.Forward(jetstore.ForwardConfig{Gateway: name, Stream: fc.Stream, Subject: fc.Subject, Upstream: fc.Upstream,
			HubStream: fc.HubStream, HubDomain: fc.HubDomain, Window: fc.Window, AckWait: fc.AckWait.Duration(),
			HubMaxPayload: u.node.MaxPayload})
		if err != nil {
			u.close()
			return nil, err
		}
		u.mu.Lock()
		u.forwards = append(u.forwards, f)
		u.mu.Unlock()
	}
	for _, pc := range l.Pulls {
		if js == nil {
			u.close()
			return nil, errors.New("leafnodes.pulls need jetstream.enabled")
		}
		consumer := pc.Consumer
		if consumer == "" {
			consumer = name
		}
		p, err := js.Pull(jetstore.PullConfig{Stream: pc.Stream, HubStream: pc.HubStream, HubDomain: pc.HubDomain,
			Consumer: consumer, Filter: pc.Filter, Batch: pc.Batch})
		if err != nil {
			u.close()
			return nil, err
		}
		u.mu.Lock()
		u.pulls = append(u.pulls, p)
		u.mu.Unlock()
	}
	srv.SetMonitorRoute("/uplinkz", func(url.Values) any { return u.status() })
	return u, nil
}

// uplinkz is the /uplinkz document: the links and the forwards.
type uplinkz struct {
	Links    int                      `json:"links_connected"`
	Forwards []jetstore.ForwardStatus `json:"forwards"`
	Pulls    []jetstore.PullStatus    `json:"pulls"`
}

func (u *uplink) status() uplinkz {
	z := uplinkz{Links: u.node.Connected(), Forwards: []jetstore.ForwardStatus{}, Pulls: []jetstore.PullStatus{}}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, f := range u.forwards {
		z.Forwards = append(z.Forwards, f.Status())
	}
	for _, p := range u.pulls {
		z.Pulls = append(z.Pulls, p.Status())
	}
	return z
}

// close stops the forwards (keeping their cursors), then the links.
func (u *uplink) close() {
	if u == nil {
		return
	}
	for _, f := range u.forwards {
		f.Close()
	}
	for _, p := range u.pulls {
		p.Close()
	}
	u.node.Close()
}

// leafnodesEqual reports whether two leafnodes sections are the same.
func leafnodesEqual(a, b conf.Leafnodes) bool {
	return reflect.DeepEqual(a, b)
}

// remoteKey is what a remote's link depends on: its own settings, the
// section's reconnect and ping settings, and the pulls' filters (they join
// its deny_imports). A reload keeps the link of a remote whose key is
// unchanged.
func remoteKey(l conf.Leafnodes, rc conf.LeafRemote) string {
	k := struct {
		R                  conf.LeafRemote
		Reconnect, Max, PI conf.Duration
		Pings              int
		Pulls              []string
	}{R: rc, Reconnect: l.Reconnect, Max: l.ReconnectMax, PI: l.PingInterval, Pings: l.MaxPingsOut}
	for _, p := range l.Pulls {
		k.Pulls = append(k.Pulls, p.Filter)
	}
	b, _ := json.Marshal(&k)
	return string(b)
}

// reloadedLeafnodes is the leafnodes section that runs after a reload to
// next: its remotes and link settings when an uplink runs (a daemon
// started without remotes tracks no interest, so it needs a restart to
// get any), and the running forwards and pulls, which only a restart
// changes.
func reloadedLeafnodes(run, next conf.Leafnodes, up bool) conf.Leafnodes {
	if !up {
		return run
	}
	next.Forwards, next.Pulls = run.Forwards, run.Pulls
	return next
}

// reload makes the links those of l: unchanged remotes keep their link
// up; removed or changed ones are closed, new ones dialled.
func (u *uplink) reload(l conf.Leafnodes, srv *server.Server) error {
	remotes, err := leafRemotes(l)
	if err != nil {
		return err
	}
	kept, added, removed := u.node.Reload(remotes)
	if added+removed > 0 {
		srv.Logger().Info("leafnode remotes reloaded", "kept", kept, "added", added, "removed", removed)
	}
	srv.AddMetrics("uplink", u.metrics(l))
	return nil
}
