package auth

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// ErrAuthorizationViolation is returned, wrapped with the reason, by every
// failed Authenticate. Its text is the NATS wire string: send the client
// -ERR 'Authorization Violation' and close, and keep the wrapped reason for
// the server log only.
var ErrAuthorizationViolation = errors.New("Authorization Violation")

// DefaultTimeout is the authentication timeout when Config.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// User is one configured user. A user is either a password user (Name and
// Password; with Config.TLSMap, Password may be empty and the user is
// identified by a client certificate) or an nkey user (Nkey, a public user
// key "U...", and optionally a Name used in logs).
type User struct {
	Name string
	// Password is plain text or a bcrypt hash ($2a$, $2b$ or $2y$).
	Password string
	Nkey     string
	// Permissions nil means Config.DefaultPermissions.
	Permissions *Permissions
}

// Config is the authentication and authorization configuration.
type Config struct {
	// Token is a single shared token (plain or bcrypt); it cannot be
	// combined with Users.
	Token string
	Users []User
	// DefaultPermissions apply to every user (password, certificate or
	// nkey) whose Permissions are nil. As in nats-server they do not apply
	// to token clients or when no authentication is configured: those
	// connections are unrestricted.
	DefaultPermissions *Permissions
	// Timeout is how long a client has to send CONNECT; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// TLSMap identifies password users by their verified client certificate
	// instead of a password (verify_and_map). Nkey users still sign.
	TLSMap bool
	// NoAuthUser names the user (by name, or public nkey) a client that
	// presents no credentials at all is authenticated as. Empty: such
	// clients are refused when authentication is required.
	NoAuthUser string
}

// ConnectCreds are the credentials a client presented: the CONNECT fields
// and the verified TLS peer chain (nil without client certificates).
type ConnectCreds struct {
	User, Pass, Token, Nkey, Sig, JWT string
	TLSCerts                          []*x509.Certificate
}

// Method says how a connection was authenticated.
type Method string

// Authentication methods.
const (
	MethodNone     Method = "none"
	MethodToken    Method = "token"
	MethodPassword Method = "password"
	MethodNkey     Method = "nkey"
	MethodTLS      Method = "tls"
	// MethodNoAuthUser: no credentials, mapped to Config.NoAuthUser.
	MethodNoAuthUser Method = "no_auth_user"
)

// Identity is an authenticated connection.
type Identity struct {
	// Name is the user name; for an nkey user without a name, the public
	// nkey; empty for token and unauthenticated connections.
	Name   string
	Method Method
	// Perms checks what the connection may do. It is nil when the
	// connection is unrestricted (Checker methods allow everything on nil).
	// Each Identity has its own Checker.
	Perms *Checker
}

type user struct {
	name     string
	password string
	kp       ed25519.PublicKey // nkey users only
	pol      *policy
}

// Authenticator decides who may connect. It is immutable once built and
// safe for concurrent use; build a new one to apply a new configuration.
type Authenticator struct {
	token      string
	users      map[string]*user // password and certificate users, by name
	nkeys      map[string]*user // nkey users, by public key
	defaultPol *policy
	timeout    time.Duration
	tlsMap     bool
	noAuth     *user // Config.NoAuthUser, nil if none
}

// New checks cfg and builds an Authenticator from it.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{
		token:   cfg.Token,
		users:   make(map[string]*user),
		nkeys:   make(map[string]*user),
		timeout: cfg.Timeout,
		tlsMap:  cfg.TLSMap,
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("auth: negative timeout %v", cfg.Timeout)
	}
	if a.timeout == 0 {
		a.timeout = DefaultTimeout
	}
	if cfg.Token != "" && len(cfg.Users) > 0 {
		return nil, errors.New("auth: a token cannot be combined with users")
	}
	if isBcrypt(cfg.Token) {
		if err := checkBcrypt(cfg.Token); err != nil {
			return nil, fmt.Errorf("auth: token: %w", err)
		}
	}
	var err error
	if a.defaultPol, err = compilePermissions(cfg.DefaultPermissions); err != nil {
		return nil, fmt.Errorf("auth: default permissions: %w", err)
	}
	names := make(map[string]bool)
	for i, cu := range cfg.Users {
		u, err := a.buildUser(cu)
		if err != nil {
			return nil, fmt.Errorf("auth: user %d (%q): %w", i+1, cu.Name, err)
		}
		if cu.Name != "" {
			if names[cu.Name] {
				return nil, fmt.Errorf("auth: duplicate user %q", cu.Name)
			}
			names[cu.Name] = true
		}
		if cu.Nkey != "" {
			if a.nkeys[cu.Nkey] != nil {
				return nil, fmt.Errorf("auth: duplicate nkey %q", cu.Nkey)
			}
			a.nkeys[cu.Nkey] = u
		} else {
			a.users[cu.Name] = u
		}
	}
	if cfg.TLSMap && len(a.users) == 0 {
		return nil, errors.New("auth: TLS map needs at least one user without an nkey")
	}
	if n := cfg.NoAuthUser; n != "" {
		if a.noAuth = a.users[n]; a.noAuth == nil {
			a.noAuth = a.nkeys[n]
		}
		if a.noAuth == nil {
			for _, u := range a.nkeys {
				if u.name == n {
					a.noAuth = u
				}
			}
		}
		if a.noAuth == nil {
			return nil, fmt.Errorf("auth: no_auth_user %q is not a configured user", clip(n))
		}
	}
	return a, nil
}

func (a *Authenticator) buildUser(cu User) (*user, error) {
	u := &user{name: cu.Name, password: cu.Password, pol: a.defaultPol}
	if cu.Permissions != nil {
		pol, err := compilePermissions(cu.Permissions)
		if err != nil {
			return nil, fmt.Errorf("permissions: %w", err)
		}
		u.pol = pol
	}
	if cu.Nkey != "" {
		if cu.Password != "" {
			return nil, errors.New("an nkey user cannot have a password")
		}
		kp, err := parseUserNkey(cu.Nkey)
		if err != nil {
			return nil, err
		}
		u.kp = kp
		if u.name == "" {
			u.name = cu.Nkey
		}
		return u, nil
	}
	if cu.Name == "" {
		return nil, errors.New("a user needs a name or an nkey")
	}
	if cu.Password == "" && !a.tlsMap {
		return nil, errors.New("no password (only allowed with TLS map)")
	}
	if isBcrypt(cu.Password) {
		if err := checkBcrypt(cu.Password); err != nil {
			return nil, fmt.Errorf("password: %w", err)
		}
	}
	return u, nil
}

// Required reports whether clients must authenticate.
func (a *Authenticator) Required() bool {
	return a.token != "" || len(a.users) > 0 || len(a.nkeys) > 0
}

// NeedsNonce reports whether INFO must carry a nonce (some user has an
// nkey).
func (a *Authenticator) NeedsNonce() bool {
	return len(a.nkeys) > 0
}

// Timeout is how long a client has to authenticate.
func (a *Authenticator) Timeout() time.Duration {
	return a.timeout
}

// Authenticate checks the credentials of a CONNECT. nonce is the nonce sent
// in this connection's INFO (nil if none was sent). Every failure wraps
// ErrAuthorizationViolation.
//
// The order follows nats-server: an nkey in CONNECT is always checked as an
// nkey; otherwise with TLS map the certificate decides (a password sent is
// ignored); otherwise the token or the user and password. JWT is not
// supported and is ignored.
func (a *Authenticator) Authenticate(c ConnectCreds, nonce []byte) (*Identity, error) {
	if !a.Required() {
		return newIdentity("", MethodNone, nil), nil
	}
	if u := a.noAuth; u != nil && c.Nkey == "" && c.User == "" && c.Pass == "" &&
		c.Token == "" && c.JWT == "" && len(c.TLSCerts) == 0 {
		return newIdentity(u.name, MethodNoAuthUser, u.pol), nil
	}
	if c.Nkey != "" {
		u := a.nkeys[c.Nkey]
		if u == nil {
			return nil, deny("unknown nkey %q", clip(c.Nkey))
		}
		if err := verifyNonceSig(u.kp, nonce, c.Sig); err != nil {
			return nil, deny("nkey %q: %v", clip(c.Nkey), err)
		}
		return newIdentity(u.name, MethodNkey, u.pol), nil
	}
	if a.tlsMap {
		u, err := a.mapCert(c.TLSCerts)
		if err != nil {
			return nil, deny("%v", err)
		}
		return newIdentity(u.name, MethodTLS, u.pol), nil
	}
	if a.token != "" {
		if c.Token == "" {
			return nil, deny("no token")
		}
		if !secretMatches(a.token, c.Token) {
			return nil, deny("wrong token")
		}
		return newIdentity("", MethodToken, nil), nil
	}
	if c.User == "" {
		if len(a.users) == 0 {
			return nil, deny("no nkey")
		}
		return nil, deny("no user")
	}
	u := a.users[c.User]
	if u == nil {
		return nil, deny("unknown user %q", clip(c.User))
	}
	if u.password == "" {
		return nil, deny("user %q has no password", clip(c.User))
	}
	if !secretMatches(u.password, c.Pass) {
		return nil, deny("wrong password for user %q", clip(c.User))
	}
	return newIdentity(u.name, MethodPassword, u.pol), nil
}

// Clone returns a copy of id with a Checker of its own in its initial
// state (no reply subjects recorded), for another connection that presented
// the same credentials: a server re-authenticating many connections of one
// user checks the (possibly bcrypt) password once.
func (id *Identity) Clone() *Identity {
	var pol *policy
	if id.Perms != nil {
		pol = id.Perms.pol
	}
	return newIdentity(id.Name, id.Method, pol)
}

func newIdentity(name string, m Method, pol *policy) *Identity {
	return &Identity{Name: name, Method: m, Perms: newChecker(pol)}
}

func deny(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrAuthorizationViolation, fmt.Sprintf(format, args...))
}

// clip shortens client-supplied text before it goes into an error.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
