package leaf

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/protocol/nkey"
)

// Remote is one hub to link to, with nats-server's leafnodes.remotes
// settings.
type Remote struct {
	// URLs are the hub's leaf ports, tried in turn: nats-leaf://, nats://
	// or tls:// (TLS from the start of the handshake, as the hub's INFO
	// asks for it anyway when it requires TLS).
	URLs []*url.URL
	// User and Password, or Token, authenticate the link; a URL's own
	// user info wins over them.
	User, Password, Token string
	// NkeyFile holds an nkey seed (SU…) the link signs the hub's nonce
	// with; CredsFile a .creds file (user JWT and seed). Both are read at
	// each connect, so a rotated file takes effect on the next one.
	NkeyFile  string
	CredsFile string
	// TLS, when set, secures the link (CA, client certificate); the
	// server name is the URL's host unless set.
	TLS *tls.Config
	// DenyExports are subjects whose messages never go to the hub;
	// DenyImports subjects whose messages are never taken from it.
	DenyExports, DenyImports []string
	// Reconnect is the first delay between attempts (default 1s); it
	// doubles with each failure up to ReconnectMax (default 30s), with
	// ±25% jitter.
	Reconnect, ReconnectMax time.Duration
	// PingInterval is how often the hub is pinged (default 30s);
	// MaxPingsOut how many may go unanswered (default 2).
	PingInterval time.Duration
	MaxPingsOut  int
	// DialTimeout bounds the TCP connect and the handshake (default 5s).
	DialTimeout time.Duration
	// Compression is the link's compression mode, nats-server's names
	// (NormalizeCompression): off (default), accept, s2_auto or a level.
	Compression string
	// Key identifies the remote's settings across Node.Reload: a remote
	// whose Key is unchanged keeps its link. Empty never matches.
	Key string
}

// defaultDeny is what never crosses a link in either direction: the
// gateway runs its own JetStream, so the JetStream API, KV and object
// store subjects of the two sides stay apart (as nats-server does between
// JetStream domains). A hub's API stays reachable by its domain prefix,
// $JS.<domain>.API.
var defaultDeny = []string{"$JS.API.>", "$KV.>", "$OBJ.>"}

// defaultDenyImports are also never taken from the hub: acks and flow
// control of the gateway's own consumers, and Wren's own API. Hub clients
// cannot reach the gateway's streams, so these would only carry every ack
// on the hub over the link.
var defaultDenyImports = []string{"$JS.ACK.>", "$JS.FC.>", "$WREN.>"}

func (r *Remote) withDefaults() Remote {
	c := *r
	if c.Reconnect <= 0 {
		c.Reconnect = time.Second
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 30 * time.Second
	}
	if c.ReconnectMax < c.Reconnect {
		c.ReconnectMax = c.Reconnect
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.MaxPingsOut <= 0 {
		c.MaxPingsOut = 2
	}
	c.Compression, _ = NormalizeCompression(c.Compression)
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	c.DenyExports = append(append([]string(nil), defaultDeny...), c.DenyExports...)
	c.DenyImports = append(append(append([]string(nil), defaultDeny...), defaultDenyImports...), c.DenyImports...)
	return c
}

// Validate reports what is wrong with a remote's settings.
func (r *Remote) Validate() error {
	if len(r.URLs) == 0 {
		return errors.New("no urls")
	}
	for _, u := range r.URLs {
		switch u.Scheme {
		case "nats-leaf", "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("url %q: scheme must be nats-leaf, nats, tls, ws or wss", u.Redacted())
		}
		if u.Hostname() == "" {
			return fmt.Errorf("url %q: no host", u.Redacted())
		}
	}
	if _, err := NormalizeCompression(r.Compression); err != nil {
		return err
	}
	for _, s := range append(append([]string(nil), r.DenyExports...), r.DenyImports...) {
		if !protocol.ValidFilter(s) {
			return fmt.Errorf("deny subject %q is not a valid subject", s)
		}
	}
	return nil
}

// leafConnect is the CONNECT a leaf node sends: no "lang" (that marks a
// client), a stable name, headers on.
type leafConnect struct {
	Version  string   `json:"version,omitempty"`
	ID       string   `json:"server_id,omitempty"`
	Name     string   `json:"name,omitempty"`
	Headers  bool     `json:"headers"`
	DenyPub  []string `json:"deny_pub,omitempty"`
	Proto    int      `json:"protocol"`
	User     string   `json:"user,omitempty"`
	Pass     string   `json:"pass,omitempty"`
	Token    string   `json:"auth_token,omitempty"`
	Nkey     string   `json:"nkey,omitempty"`
	JWT      string   `json:"jwt,omitempty"`
	Sig      string   `json:"sig,omitempty"`
	Compress string   `json:"compress_mode,omitempty"`
}

// credentials fills in how the link authenticates, signing the hub's
// nonce where a key is configured.
func (r *Remote) credentials(cn *leafConnect, u *url.URL, nonce []byte) error {
	switch {
	case r.CredsFile != "":
		b, err := os.ReadFile(r.CredsFile)
		if err != nil {
			return fmt.Errorf("credentials file: %w", err)
		}
		jwt := nkey.ParseDecoratedJWT(b)
		kp, err := nkey.ParseDecoratedSeed(b)
		if err != nil {
			return fmt.Errorf("credentials file %s: %w", r.CredsFile, err)
		}
		defer kp.Wipe()
		sig := kp.Sign(nonce)
		cn.JWT, cn.Sig = jwt, base64.RawURLEncoding.EncodeToString(sig)
	case r.NkeyFile != "":
		b, err := os.ReadFile(r.NkeyFile)
		if err != nil {
			return fmt.Errorf("nkey seed file: %w", err)
		}
		kp, err := nkey.ParseDecoratedSeed(b)
		if err != nil {
			return fmt.Errorf("nkey seed file %s: %w", r.NkeyFile, err)
		}
		defer kp.Wipe()
		sig := kp.Sign(nonce)
		pub := kp.PublicKey()
		cn.Nkey, cn.Sig = pub, base64.RawURLEncoding.EncodeToString(sig)
	}
	if ui := u.User; ui != nil {
		if p, ok := ui.Password(); ok {
			cn.User, cn.Pass = ui.Username(), p
		} else {
			cn.Token = ui.Username()
		}
	} else if r.User != "" {
		cn.User, cn.Pass = r.User, r.Password
	} else if r.Token != "" {
		cn.Token = r.Token
	}
	return nil
}

// denied reports whether subject falls in one of the deny filters.
func denied[T string | []byte](subject T, deny []string) bool {
	for _, d := range deny {
		if protocol.MatchLiteral(subject, d) {
			return true
		}
	}
	return false
}

// deniedFilter reports whether every subject of filter is denied.
func deniedFilter(filter string, deny []string) bool {
	for _, d := range deny {
		if protocol.SubsetOf(filter, d) {
			return true
		}
	}
	return false
}
