package conf

import "time"

// Authorization says who may connect and what they may publish and
// subscribe to. Choose at most one scheme: a Token, a single User and
// Password, or a list of Users. With none, any client may connect and do
// anything.
type Authorization struct {
	// Token is a shared secret every client must send (auth_token), in
	// plain text or as a bcrypt hash ("$2a$…").
	Token string `toml:"token,omitempty"`
	// User and Password are the one identity every client must present.
	// Password is plain text or a bcrypt hash ("$2a$…").
	User     string `toml:"user,omitempty"`
	Password string `toml:"password,omitempty"`
	// Timeout is how long a new connection has to send CONNECT and
	// authenticate before it is closed, when authentication is configured
	// (as in nats-server, clients of an open server are not timed).
	// Default 2s.
	Timeout Duration `toml:"timeout"`
	// DefaultPermissions apply to every entry of Users that has no
	// permissions of its own. Nil (the default) allows everything.
	DefaultPermissions *Permissions `toml:"default_permissions,omitempty"`
	// Users are the identities that may connect, each with a password, an
	// nkey, or (under tls.verify_and_map) only a name matching a client
	// certificate.
	Users []User `toml:"users"`
	// NoAuthUser names the user (authorization.user or an entry of Users,
	// by user name or nkey) that a client presenting no credentials at all
	// connects as, with that user's permissions. Clients that present
	// credentials are checked as usual; wrong ones are still refused.
	NoAuthUser string `toml:"no_auth_user,omitempty"`
}

// Enabled reports whether clients must authenticate.
func (a Authorization) Enabled() bool {
	return a.Token != "" || a.User != "" || len(a.Users) > 0
}

// User is one identity in Authorization.Users.
type User struct {
	// User is the user name sent in CONNECT, or under tls.verify_and_map the
	// certificate identity. Required unless NKey is set.
	User string `toml:"user,omitempty"`
	// Password is plain text or a bcrypt hash ("$2a$…"); not allowed
	// together with NKey.
	Password string `toml:"password,omitempty"`
	// NKey is the user's public nkey: 56 characters starting with "U".
	NKey string `toml:"nkey,omitempty"`
	// Permissions limit what this user may do. Nil means
	// Authorization.DefaultPermissions.
	Permissions *Permissions `toml:"permissions,omitempty"`
	// Account is empty for the application's users, or the name in
	// system_account for a user of the system account.
	Account string `toml:"account,omitempty"`
}

// Permissions limit the subjects a user may publish and subscribe to.
type Permissions struct {
	// Publish governs the subjects the user may publish to. Short form:
	// publish = ["a.>", "b"] is an allow list.
	Publish SubjectRules `toml:"publish"`
	// Subscribe governs the subjects the user may subscribe to, wildcards
	// included. The same short form is accepted.
	Subscribe SubjectRules `toml:"subscribe"`
	// AllowResponses lets the user publish replies to the requests it
	// receives, whatever Publish says. Nil (the default) grants nothing.
	// In the file, true means {max = 1, expires = "2m"} and false leaves it
	// nil.
	AllowResponses *ResponsePermission `toml:"allow_responses,omitempty"`
}

// SubjectRules are allow and deny lists of subjects, wildcards allowed.
// A subject is permitted when Allow is empty or one of its entries matches,
// and no entry of Deny matches: deny wins.
type SubjectRules struct {
	Allow []string `toml:"allow,omitempty"`
	Deny  []string `toml:"deny,omitempty"`
}

// ResponsePermission bounds the replies a user may publish, with
// nats-server's defaults and meanings.
type ResponsePermission struct {
	// Max is how many replies may be sent to one request's reply subject.
	// Missing or 0: DefaultResponseMax; negative: no limit.
	Max int `toml:"max"`
	// Expires is how long after the request a reply may be sent. Missing or
	// 0: DefaultResponseExpires; negative: no time limit.
	Expires Duration `toml:"expires"`
}

// The allow_responses defaults, as in nats-server.
const (
	DefaultResponseMax     = 1
	DefaultResponseExpires = Duration(2 * time.Minute)
)
