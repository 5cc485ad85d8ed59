package conf

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Leafnodes links the gateway to NATS hubs as a leaf node (nats-server's
// leafnodes.remotes), and forwards streams to hub streams over the links.
type Leafnodes struct {
	// Reconnect is the first wait between connect attempts to a remote; it
	// doubles with each failure, with jitter, up to ReconnectMax.
	// Defaults 1s and 30s.
	Reconnect    Duration `toml:"reconnect"`
	ReconnectMax Duration `toml:"reconnect_max"`
	// PingInterval is how often a link is pinged; after MaxPingsOut
	// unanswered pings it is closed and dialled again. Defaults 30s and 2.
	PingInterval Duration `toml:"ping_interval"`
	MaxPingsOut  int      `toml:"max_pings_out"`
	// Remotes are the hubs to link to.
	Remotes []LeafRemote `toml:"remotes"`
	// Forwards move streams to hub streams, exactly once.
	Forwards []Forward `toml:"forwards"`
	// Pulls move hub streams (commands to the gateway) into local
	// streams, exactly once.
	Pulls []Pull `toml:"pulls"`
}

// Pull moves what a hub stream holds under Filter into a local stream: a
// durable pull consumer on the hub delivers it, and each message is acked
// upstream only once the local stream stored it. The hub's live messages
// on Filter are then kept off the links (added to every remote's
// deny_imports), so each arrives once.
type Pull struct {
	// HubStream and HubDomain name the hub stream and its JetStream
	// domain.
	HubStream string `toml:"hub_stream"`
	HubDomain string `toml:"hub_domain"`
	// Consumer is the durable consumer's name on the hub. Default: the
	// server name.
	Consumer string `toml:"consumer,omitempty"`
	// Filter is what of the hub stream is pulled ("cmd.gw17.>").
	Filter string `toml:"filter"`
	// Stream is the local stream the messages are stored in, under their
	// own subjects; it must capture Filter.
	Stream string `toml:"stream"`
	// Batch is how many messages one pull asks for, and how many may
	// await their local store; what of it has arrived is stored with one
	// append and one fsync. Default 256.
	Batch int `toml:"batch"`
}

// LeafRemote is one hub: its leaf ports and how to authenticate.
type LeafRemote struct {
	// URLs are the hub's leaf ports, tried in turn
	// ("nats-leaf://hub:7422", "tls://hub:7422"); user:password@ or
	// token@ in a URL authenticates with it.
	URLs []string `toml:"urls"`
	// User and Password, or Token, authenticate the link.
	User     string `toml:"user,omitempty"`
	Password string `toml:"password,omitempty"`
	Token    string `toml:"token,omitempty"`
	// NkeyFile is a file holding the link's nkey seed (SU…).
	NkeyFile string `toml:"nkey_file,omitempty"`
	// Credentials is a .creds file (user JWT and seed) for a hub in
	// operator mode.
	Credentials string `toml:"credentials,omitempty"`
	// TLS secures the link.
	TLS *LeafTLS `toml:"tls,omitempty"`
	// DenyExports are subjects whose messages never go to the hub;
	// DenyImports subjects whose messages are never taken from it.
	DenyExports []string `toml:"deny_exports"`
	DenyImports []string `toml:"deny_imports"`
	// Compression is the link's S2 compression as nats-server negotiates
	// it: "off" (default), "accept" (compress when the hub asks),
	// "s2_auto" (a level by round trip) or "s2_uncompressed", "s2_fast",
	// "s2_better", "s2_best".
	Compression string `toml:"compression,omitempty"`
}

// LeafTLS is a link's TLS: the CAs the hub's certificate is checked
// against and the client certificate the link presents.
type LeafTLS struct {
	CAFile   string `toml:"ca_file,omitempty"`
	CertFile string `toml:"cert_file,omitempty"`
	KeyFile  string `toml:"key_file,omitempty"`
	// ServerName is the name the hub's certificate must carry. Default:
	// the URL's host.
	ServerName string `toml:"server_name,omitempty"`
}

// Forward moves a local stream's messages to a hub stream: each is
// published in order to the upstream subject, with a Nats-Msg-Id made of
// the gateway, stream and sequence, and counts as forwarded only once the
// hub stream acknowledged it.
type Forward struct {
	// Stream is the local stream forwarded.
	Stream string `toml:"stream"`
	// Subject selects what is forwarded ("sensors.>"), and Upstream is
	// where it goes on the hub: the prefix before ">" is rewritten
	// ("site.gw17.sensors.>"). Upstream must be this gateway's alone: the
	// forward reads the hub stream back under it.
	Subject  string `toml:"subject"`
	Upstream string `toml:"upstream"`
	// HubStream is the hub stream that stores Upstream, and HubDomain its
	// JetStream domain (its API is $JS.<domain>.API; nats-server keeps
	// $JS.API off leaf connections, so a hub without a domain cannot be
	// asked). With both, after any interruption the forward reads back
	// what the hub holds, so no message is stored twice however long the
	// outage; without, a message sent again is deduplicated only within
	// the hub stream's duplicate window.
	HubStream string `toml:"hub_stream,omitempty"`
	HubDomain string `toml:"hub_domain,omitempty"`
	// Window is how many publishes may await the hub's ack. Default 256.
	Window int `toml:"window"`
	// AckWait is how long a publish may wait for its ack before the
	// window is sent again. Default 5s.
	AckWait Duration `toml:"ack_wait"`
}

// defaultLeafnodes are the defaults of the leafnodes section.
func defaultLeafnodes() Leafnodes {
	return Leafnodes{
		Reconnect:    Duration(time.Second),
		ReconnectMax: Duration(30 * time.Second),
		PingInterval: Duration(30 * time.Second),
		MaxPingsOut:  2,
	}
}

// Forward defaults, applied where a forward leaves them zero.
const (
	DefaultForwardWindow  = 256
	DefaultForwardAckWait = Duration(5 * time.Second)
)

func (v *checker) leafnodes(l *Leafnodes, js *JetStream) {
	if d := js.Domain; d != "" && (strings.ContainsAny(d, " .*>\t") || !protocol.ValidLiteral("$JS."+d+".API")) {
		v.add("jetstream.domain", "%q is not a JetStream domain name (one subject token)", d)
	}
	v.positive("leafnodes.reconnect", l.Reconnect)
	v.positive("leafnodes.reconnect_max", l.ReconnectMax)
	if l.ReconnectMax < l.Reconnect {
		v.add("leafnodes.reconnect_max", "%q is shorter than leafnodes.reconnect (%s)", l.ReconnectMax, l.Reconnect)
	}
	v.positive("leafnodes.ping_interval", l.PingInterval)
	v.atLeast("leafnodes.max_pings_out", l.MaxPingsOut, 1)
	for i := range l.Remotes {
		v.leafRemote(joinIndex("leafnodes.remotes", i), &l.Remotes[i])
	}
	v.pulls(l, js)
	upstreams := map[string]string{}
	for i := range l.Forwards {
		f := &l.Forwards[i]
		path := joinIndex("leafnodes.forwards", i)
		if len(l.Remotes) == 0 {
			v.add(path, "needs a leafnodes.remotes entry to forward over")
		}
		if !js.Enabled {
			v.add(path, "needs jetstream.enabled: a forward reads a local stream")
		}
		if f.Stream == "" {
			v.add(path+".stream", "must name the local stream to forward")
		}
		if err := checkPrefixFilter(f.Subject); err != nil {
			v.add(path+".subject", "%v", err)
		}
		if err := checkPrefixFilter(f.Upstream); err != nil {
			v.add(path+".upstream", "%v", err)
		} else if other, dup := upstreams[f.Upstream]; dup {
			v.add(path+".upstream", "%q is also the upstream of %s: each forward needs its own", f.Upstream, other)
		} else {
			upstreams[f.Upstream] = path
		}
		switch {
		case f.HubStream != "" && f.HubDomain == "":
			// Checked against nats-server 2.15: a leaf connection of an
			// account gets $JS.API denied both ways, domain or not.
			v.add(path+".hub_stream", "needs hub_domain: nats-server keeps $JS.API off leaf connections, so a hub's JetStream answers a gateway only as $JS.<domain>.API (give the hub's jetstream a domain and name it here)")
		case f.HubDomain != "" && f.HubStream == "":
			v.add(path+".hub_domain", "needs hub_stream: the hub stream that stores upstream, read back after an interruption")
		}
		if strings.ContainsAny(f.HubDomain, " .*>\t") {
			v.add(path+".hub_domain", "%q is not a JetStream domain name", f.HubDomain)
		}
		if f.Window < 0 || f.Window > 65536 {
			v.add(path+".window", "must be between 1 and 65536, got %d", f.Window)
		}
		if f.AckWait < 0 {
			v.add(path+".ack_wait", "must not be negative, got %q", f.AckWait)
		}
	}
}

func (v *checker) pulls(l *Leafnodes, js *JetStream) {
	for i := range l.Pulls {
		p := &l.Pulls[i]
		path := joinIndex("leafnodes.pulls", i)
		if len(l.Remotes) == 0 {
			v.add(path, "needs a leafnodes.remotes entry to pull over")
		}
		if !js.Enabled {
			v.add(path, "needs jetstream.enabled: a pull stores into a local stream")
		}
		for _, f := range []struct{ key, val string }{{"hub_stream", p.HubStream}, {"hub_domain", p.HubDomain}, {"stream", p.Stream}} {
			if f.val == "" {
				v.add(path+"."+f.key, "must be set")
			}
		}
		if strings.ContainsAny(p.HubDomain, " .*>\t") {
			v.add(path+".hub_domain", "%q is not a JetStream domain name", p.HubDomain)
		}
		if strings.ContainsAny(p.Consumer, " .*>\t") {
			v.add(path+".consumer", "%q is not a consumer name", p.Consumer)
		}
		if p.Filter == "" {
			v.add(path+".filter", "must be set, such as \"cmd.gw17.>\"")
		} else if err := protocol.CheckFilter(p.Filter); err != nil {
			v.add(path+".filter", "%v", err)
		}
		if p.Batch < 0 || p.Batch > 10000 {
			v.add(path+".batch", "must be between 1 and 10000, got %d", p.Batch)
		}
	}
}

func (v *checker) leafRemote(path string, r *LeafRemote) {
	if len(r.URLs) == 0 {
		v.add(path+".urls", "needs at least one URL of the hub's leaf port")
	}
	for i, s := range r.URLs {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			v.add(joinIndex(path+".urls", i), "%q is not a URL", s)
		case u.Scheme != "nats-leaf" && u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss":
			v.add(joinIndex(path+".urls", i), "%q: scheme must be nats-leaf, nats, tls, ws or wss", s)
		case u.Hostname() == "":
			v.add(joinIndex(path+".urls", i), "%q has no host", s)
		}
	}
	n := 0
	for _, set := range []bool{r.User != "" || r.Password != "", r.Token != "", r.NkeyFile != "", r.Credentials != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		v.add(path, "set at most one of user/password, token, nkey_file and credentials")
	}
	if r.Password != "" && r.User == "" {
		v.add(path+".password", "set without user")
	}
	if t := r.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		v.add(path+".tls.cert_file", "cert_file and key_file go together")
	}
	switch strings.ToLower(r.Compression) {
	case "", "off", "disabled", "false", "on", "enabled", "true", "accept", "auto", "s2_auto",
		"uncompressed", "s2_uncompressed", "fast", "s2_fast", "better", "s2_better", "best", "s2_best":
	default:
		v.add(path+".compression", "%q: must be off, accept, s2_auto, s2_uncompressed, s2_fast, s2_better or s2_best", r.Compression)
	}
	v.subjects(path+".deny_exports", r.DenyExports, false)
	v.subjects(path+".deny_imports", r.DenyImports, false)
}

// checkPrefixFilter checks a forward's subject: literal tokens ending in
// ">", or ">" alone.
func checkPrefixFilter(s string) error {
	if s == "" {
		return fmt.Errorf("must be set, as a subject ending in \">\" such as \"sensors.>\"")
	}
	if err := protocol.CheckFilter(s); err != nil {
		return err
	}
	if s != ">" && !strings.HasSuffix(s, ".>") || strings.Contains(s, "*") || strings.Count(s, ">") != 1 {
		return fmt.Errorf("%q must be literal tokens ending in \">\", such as \"sensors.>\"", s)
	}
	return nil
}
