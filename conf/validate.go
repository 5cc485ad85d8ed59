package conf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/wrenmq/wren/protocol"
)

// Validate checks the values of c and how they fit together. Load and Parse
// call it, and place its errors in the file; call it again after changing
// fields (from command-line flags, say), when its errors have no position.
// The error, if any, is an ErrorList.
func (c *Config) Validate() error {
	return c.check().err()
}

// checker collects the problems of a Config, each naming its key.
type checker struct {
	errs ErrorList
}

func (v *checker) add(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (c *Config) check() ErrorList {
	v := &checker{}
	v.host("host", c.Host)
	v.port("port", c.Port)
	if strings.ContainsAny(c.ServerName, " \t\r\n") {
		v.add("server_name", "%q contains whitespace", c.ServerName)
	}
	if c.ClientAdvertise != "" {
		v.advertise("client_advertise", c.ClientAdvertise)
	}
	v.limits(&c.Limits)
	v.log(&c.Log)
	v.monitor(c)
	v.jetStream(&c.JetStream)
	v.authorization(&c.Authorization, &c.TLS)
	v.tls(&c.TLS, &c.Authorization)
	v.leafnodes(&c.Leafnodes, &c.JetStream)
	v.shutdown(&c.Shutdown)
	v.mqtt(c)
	v.websocket(c)
	v.systemAccount(c)
	v.msgTrace(&c.MsgTrace)
	return v.errs
}

func (v *checker) limits(l *Limits) {
	v.size("limits.max_payload", l.MaxPayload, 1, MaxPayloadLimit)
	v.size("limits.max_control_line", l.MaxControlLine, 256, 1*Megabyte)
	v.atLeast("limits.max_connections", l.MaxConnections, 1)
	v.atLeast("limits.max_subscriptions", l.MaxSubscriptions, 0)
	v.size("limits.max_pending", l.MaxPending, 1, -1)
	if l.MaxPending > 0 && l.MaxPayload > 0 && l.MaxPending < l.MaxPayload {
		v.add("limits.max_pending", "%q is smaller than limits.max_payload (%s): one message would make a slow consumer", l.MaxPending, l.MaxPayload)
	}
	v.positive("limits.ping_interval", l.PingInterval)
	v.atLeast("limits.max_pings_out", l.MaxPingsOut, 1)
	v.positive("limits.write_deadline", l.WriteDeadline)
	if l.GoMemLimit != 0 {
		v.size("limits.gomemlimit", l.GoMemLimit, 1*Megabyte, -1)
	}
}

func (v *checker) log(l *Log) {
	switch l.Level {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
	default:
		v.add("log.level", "unknown level %q; expected debug, info, warn or error", l.Level)
	}
	switch l.Format {
	case FormatText, FormatJSON:
	default:
		v.add("log.format", "unknown format %q; expected text or json", l.Format)
	}
}

func (v *checker) monitor(c *Config) {
	m := &c.Monitor
	v.host("monitor.host", m.Host)
	if m.Port < -1 || m.Port > 65535 {
		v.add("monitor.port", "%d is out of range; expected -1 (a free port) or 0 to 65535", m.Port)
	}
	if m.Port != 0 && m.Port == c.Port && (m.Host == c.Host || isUnspecified(m.Host) || isUnspecified(c.Host)) {
		v.add("monitor.port", "%d is also the client port", m.Port)
	}
	if strings.ContainsAny(m.Token, " \t\r\n") {
		v.add("monitor.token", "contains whitespace, which an Authorization header cannot carry")
	}
}

func isUnspecified(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

func (v *checker) jetStream(j *JetStream) {
	if j.Enabled && j.StoreDir == "" {
		v.add("jetstream.store_dir", "must be set when jetstream.enabled is true")
	}
	switch j.Sync {
	case SyncAlways, SyncInterval, SyncNever:
	default:
		v.add("jetstream.sync", "unknown sync policy %q; expected always, interval or never", j.Sync)
	}
	v.positive("jetstream.sync_interval", j.SyncInterval)
	v.size("jetstream.max_storage", j.MaxStorage, 0, -1)
	v.jetStreamLimits(j)
	switch j.Compression {
	case CompressionNone, CompressionS2:
	default:
		v.add("jetstream.compression", "unknown compression %q; expected none or s2", j.Compression)
	}
}

func (v *checker) authorization(a *Authorization, t *TLS) {
	const p = "authorization"
	v.positive(p+".timeout", a.Timeout)
	if a.Token != "" {
		v.secret(p+".token", a.Token)
		switch {
		case a.User != "" || a.Password != "":
			v.add(p+".token", "cannot be combined with authorization.user and authorization.password")
		case len(a.Users) > 0:
			v.add(p+".token", "cannot be combined with authorization.users")
		}
	}
	switch {
	case a.User != "" && a.Password == "":
		v.add(p+".user", "set without authorization.password")
	case a.User == "" && a.Password != "":
		v.add(p+".password", "set without authorization.user")
	case a.User != "" && len(a.Users) > 0:
		v.add(p+".user", "cannot be combined with authorization.users; add this user to the list instead")
	}
	if a.Password != "" {
		v.secret(p+".password", a.Password)
	}
	if a.DefaultPermissions != nil {
		v.permissions(p+".default_permissions", a.DefaultPermissions)
	}
	names := map[string]string{}
	nkeys := map[string]string{}
	for i := range a.Users {
		v.user(joinIndex(p+".users", i), &a.Users[i], t.VerifyAndMap, names, nkeys)
	}
	if n := a.NoAuthUser; n != "" {
		_, isName := names[n]
		_, isNkey := nkeys[n]
		switch {
		case a.Token != "":
			v.add(p+".no_auth_user", "cannot be combined with authorization.token")
		case n != a.User && !isName && !isNkey:
			v.add(p+".no_auth_user", "%q is not a user of authorization.user or authorization.users", n)
		}
	}
}

// user checks one entry of authorization.users; names and nkeys map the
// names and nkeys seen so far to the entries that hold them.
func (v *checker) user(path string, u *User, mapped bool, names, nkeys map[string]string) {
	if u.User != "" {
		if first, dup := names[u.User]; dup {
			v.add(path+".user", "%q is already defined by %s", u.User, first)
		} else {
			names[u.User] = path
		}
	}
	switch {
	case u.NKey != "" && u.Password != "":
		v.add(path+".password", "cannot be combined with nkey: choose a password or an nkey")
	case u.NKey != "":
		if err := checkUserNKey(u.NKey); err != nil {
			v.add(path+".nkey", "%v", err)
		} else if first, dup := nkeys[u.NKey]; dup {
			v.add(path+".nkey", "already used by %s", first)
		} else {
			nkeys[u.NKey] = path
		}
	case u.Password != "":
		v.secret(path+".password", u.Password)
		if u.User == "" {
			v.add(path+".password", "set without user")
		}
	case u.User == "":
		v.add(path, "needs a user or an nkey")
	case !mapped:
		v.add(path+".user", "%q needs a password or an nkey (or tls.verify_and_map, to authenticate by certificate)", u.User)
	}
	if u.Permissions != nil {
		v.permissions(path+".permissions", u.Permissions)
	}
}

func (v *checker) permissions(path string, p *Permissions) {
	v.subjects(path+".publish.allow", p.Publish.Allow, false)
	v.subjects(path+".publish.deny", p.Publish.Deny, false)
	v.subjects(path+".subscribe.allow", p.Subscribe.Allow, true)
	v.subjects(path+".subscribe.deny", p.Subscribe.Deny, true)
}

// subjects checks permission entries; with queues, an entry may name a
// queue group pattern after its subject ("jobs.> workers"), as auth and
// nats-server read subscribe permissions.
func (v *checker) subjects(path string, list []string, queues bool) {
	for i, s := range list {
		subject, queue, hasQueue := protocol.CutQueue(s)
		err := protocol.CheckFilter(subject)
		switch {
		case !hasQueue:
		case subject == "":
			err = fmt.Errorf("subject %q begins with white space", s)
		case !queues:
			if err == nil && protocol.CheckFilter(queue) == nil {
				v.add(joinIndex(path, i), "%q: a queue group after the subject is allowed in subscribe permissions only", s)
				continue
			}
			err = protocol.CheckFilter(s)
		case err == nil:
			if qerr := protocol.CheckFilter(queue); qerr != nil {
				v.add(joinIndex(path, i), "%q: the queue group %q is not a valid pattern: one subject-like word after the subject", s, queue)
				continue
			}
		}
		if err != nil {
			v.add(joinIndex(path, i), "%v", err)
		}
	}
}

// secret checks a password or token that is meant as a bcrypt hash.
func (v *checker) secret(path, s string) {
	if isBcrypt(s) {
		if err := checkBcrypt(s); err != nil {
			v.add(path, "%v", err)
		}
	}
}

func (v *checker) tls(t *TLS, a *Authorization) {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		v.add("tls.cert_file", "set without tls.key_file")
	case t.CertFile == "" && t.KeyFile != "":
		v.add("tls.key_file", "set without tls.cert_file")
	case t.CertFile == "":
		for _, o := range []struct {
			key string
			set bool
		}{
			{"tls.ca_file", t.CAFile != ""},
			{"tls.verify", t.Verify},
			{"tls.verify_and_map", t.VerifyAndMap},
			{"tls.handshake_first", t.HandshakeFirst},
		} {
			if o.set {
				v.add(o.key, "needs tls.cert_file and tls.key_file")
			}
		}
	}
	if t.VerifyAndMap && len(a.Users) == 0 {
		v.add("tls.verify_and_map", "needs authorization.users to map certificates to")
	}
	v.positive("tls.timeout", t.Timeout)
}

// size checks lo <= s <= hi; hi < 0 means no upper bound.
func (v *checker) size(key string, s, lo, hi Size) {
	switch {
	case s < 0:
		v.add(key, "must not be negative, got %d", int64(s))
	case s < lo && lo == 1:
		v.add(key, "must be greater than 0")
	case s < lo:
		v.add(key, "%q is below the minimum of %s", s, lo)
	case hi >= 0 && s > hi:
		v.add(key, "%q exceeds the hard maximum of %s", s, hi)
	}
}

func (v *checker) positive(key string, d Duration) {
	switch {
	case d < 0:
		v.add(key, "must not be negative, got %q", d)
	case d == 0:
		v.add(key, "must be greater than 0")
	}
}

func (v *checker) atLeast(key string, n, lo int) {
	if n < lo {
		v.add(key, "must be at least %d, got %d", lo, n)
	}
}

func (v *checker) port(key string, p int) {
	if p < 0 || p > 65535 {
		v.add(key, "%d is out of range; expected 0 to 65535", p)
	}
}

func (v *checker) host(key, h string) {
	if err := checkHost(h); err != nil {
		v.add(key, "%v", err)
	}
}

// advertise checks a "host" or "host:port" given to clients.
func (v *checker) advertise(key, s string) {
	if strings.Contains(s, "://") {
		v.add(key, "%q has a URL scheme; expected \"host\" or \"host:port\"", s)
		return
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, ""
	}
	if err := checkHost(host); err != nil {
		v.add(key, "%v", err)
		return
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			v.add(key, "port %q is out of range; expected 1 to 65535", port)
		}
	}
}

// checkHost reports why h is neither an IP address nor a host name.
func checkHost(h string) error {
	if h == "" {
		return errors.New("must not be empty; use \"0.0.0.0\" for every interface")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return fmt.Errorf("%q includes a port; set it with the port key", h)
	}
	if len(h) > 253 {
		return fmt.Errorf("host name %q is too long", abbreviate(h))
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q is not an IP address or a host name", h)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not an IP address or a host name", h)
			}
		}
	}
	return nil
}
