package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"
)

func mustNew(t *testing.T, cfg Config) *Authenticator {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func bcryptHash(t *testing.T, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func userPub(t *testing.T) (nkeys.KeyPair, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return kp, pub
}

func TestNewRejects(t *testing.T) {
	_, pub := userPub(t)
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"token and users", Config{Token: "t", Users: []User{{Name: "a", Password: "p"}}}, "token"},
		{"duplicate user", Config{Users: []User{{Name: "a", Password: "p"}, {Name: "a", Password: "q"}}}, "duplicate user"},
		{"duplicate nkey", Config{Users: []User{{Nkey: pub}, {Nkey: pub}}}, "duplicate nkey"},
		{"nkey name clashes", Config{Users: []User{{Name: "a", Password: "p"}, {Name: "a", Nkey: pub}}}, "duplicate user"},
		{"bad nkey", Config{Users: []User{{Nkey: "UNOTAKEY"}}}, "not a valid public user key"},
		{"account nkey", Config{Users: []User{{Nkey: apub}}}, "not a valid public user key"},
		{"nkey with password", Config{Users: []User{{Nkey: pub, Password: "p"}}}, "password"},
		{"no name", Config{Users: []User{{Password: "p"}}}, "name"},
		{"no password", Config{Users: []User{{Name: "a"}}}, "no password"},
		{"bad bcrypt", Config{Users: []User{{Name: "a", Password: "$2a$10$short"}}}, "password"},
		{"bad bcrypt token", Config{Token: "$2b$xx"}, "token"},
		{"tls map without users", Config{TLSMap: true}, "TLS map"},
		{"tls map only nkeys", Config{TLSMap: true, Users: []User{{Nkey: pub}}}, "TLS map"},
		{"negative timeout", Config{Timeout: -time.Second}, "timeout"},
		{"bad user permissions", Config{Users: []User{{Name: "a", Password: "p", Permissions: &Permissions{Publish: SubjectPermission{Allow: []string{"a..b"}}}}}}, "permissions"},
		{"bad default permissions", Config{DefaultPermissions: &Permissions{Subscribe: SubjectPermission{Deny: []string{"a b c"}}}}, "default permissions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) err = %v; want one mentioning %q", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestRequiredAndNonce(t *testing.T) {
	_, pub := userPub(t)
	tests := []struct {
		name                string
		cfg                 Config
		required, needNonce bool
	}{
		{"none", Config{}, false, false},
		{"default permissions only", Config{DefaultPermissions: &Permissions{}}, false, false},
		{"token", Config{Token: "s3cret"}, true, false},
		{"users", Config{Users: []User{{Name: "a", Password: "p"}}}, true, false},
		{"nkey", Config{Users: []User{{Nkey: pub}}}, true, true},
		{"mixed", Config{Users: []User{{Name: "a", Password: "p"}, {Nkey: pub}}}, true, true},
	}
	for _, tt := range tests {
		a := mustNew(t, tt.cfg)
		if got := a.Required(); got != tt.required {
			t.Errorf("%s: Required() = %v; want %v", tt.name, got, tt.required)
		}
		if got := a.NeedsNonce(); got != tt.needNonce {
			t.Errorf("%s: NeedsNonce() = %v; want %v", tt.name, got, tt.needNonce)
		}
	}
}

func TestTimeout(t *testing.T) {
	if got := mustNew(t, Config{}).Timeout(); got != DefaultTimeout {
		t.Errorf("Timeout() = %v; want %v", got, DefaultTimeout)
	}
	if got := mustNew(t, Config{Timeout: 5 * time.Second}).Timeout(); got != 5*time.Second {
		t.Errorf("Timeout() = %v; want 5s", got)
	}
}

// authCase is one Authenticate call and what it should produce.
type authCase struct {
	name       string
	creds      ConnectCreds
	wantOK     bool
	wantName   string
	wantMethod Method
}

func runAuthCases(t *testing.T, a *Authenticator, nonce []byte, cases []authCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(tt.creds, nonce)
			if !tt.wantOK {
				if err == nil {
					t.Fatalf("Authenticate(%+v) = %+v, nil; want an error", tt.creds, id)
				}
				if !errors.Is(err, ErrAuthorizationViolation) {
					t.Errorf("Authenticate err = %v; want it to wrap ErrAuthorizationViolation", err)
				}
				if id != nil {
					t.Errorf("Authenticate identity = %+v; want nil on error", id)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate(%+v) err = %v; want nil", tt.creds, err)
			}
			if id.Name != tt.wantName || id.Method != tt.wantMethod {
				t.Errorf("Authenticate = {%q %q}; want {%q %q}", id.Name, id.Method, tt.wantName, tt.wantMethod)
			}
		})
	}
}

func TestAuthenticateNone(t *testing.T) {
	runAuthCases(t, mustNew(t, Config{}), nil, []authCase{
		{"nothing", ConnectCreds{}, true, "", MethodNone},
		{"ignored creds", ConnectCreds{User: "x", Pass: "y"}, true, "", MethodNone},
	})
}

func TestAuthenticateToken(t *testing.T) {
	cases := []authCase{
		{"right", ConnectCreds{Token: "s3cret"}, true, "", MethodToken},
		{"wrong", ConnectCreds{Token: "s3cre"}, false, "", ""},
		{"longer", ConnectCreds{Token: "s3cret!"}, false, "", ""},
		{"missing", ConnectCreds{}, false, "", ""},
		{"as password", ConnectCreds{User: "x", Pass: "s3cret"}, false, "", ""},
	}
	t.Run("plain", func(t *testing.T) {
		runAuthCases(t, mustNew(t, Config{Token: "s3cret"}), nil, cases)
	})
	t.Run("bcrypt", func(t *testing.T) {
		runAuthCases(t, mustNew(t, Config{Token: bcryptHash(t, "s3cret")}), nil, cases)
	})
}

func TestAuthenticatePassword(t *testing.T) {
	a := mustNew(t, Config{Users: []User{
		{Name: "alice", Password: "wonderland"},
		{Name: "bob", Password: bcryptHash(t, "builder")},
		{Name: "eve", Password: "$2y$" + bcryptHash(t, "x")[4:]},
	}})
	runAuthCases(t, a, nil, []authCase{
		{"plain right", ConnectCreds{User: "alice", Pass: "wonderland"}, true, "alice", MethodPassword},
		{"plain wrong", ConnectCreds{User: "alice", Pass: "Wonderland"}, false, "", ""},
		{"plain empty", ConnectCreds{User: "alice"}, false, "", ""},
		{"bcrypt right", ConnectCreds{User: "bob", Pass: "builder"}, true, "bob", MethodPassword},
		{"bcrypt wrong", ConnectCreds{User: "bob", Pass: "builder2"}, false, "", ""},
		{"bcrypt hash as password", ConnectCreds{User: "bob", Pass: a.users["bob"].password}, false, "", ""},
		{"2y prefix", ConnectCreds{User: "eve", Pass: "x"}, true, "eve", MethodPassword},
		{"other user's password", ConnectCreds{User: "bob", Pass: "wonderland"}, false, "", ""},
		{"unknown user", ConnectCreds{User: "mallory", Pass: "wonderland"}, false, "", ""},
		{"no user", ConnectCreds{Pass: "wonderland"}, false, "", ""},
		{"token instead", ConnectCreds{Token: "wonderland"}, false, "", ""},
	})
}

func TestAuthErrorText(t *testing.T) {
	a := mustNew(t, Config{Users: []User{{Name: "alice", Password: "wonderland"}}})
	_, err := a.Authenticate(ConnectCreds{User: "alice", Pass: "nope"}, nil)
	if got, want := ErrAuthorizationViolation.Error(), "Authorization Violation"; got != want {
		t.Errorf("ErrAuthorizationViolation = %q; want %q", got, want)
	}
	if err == nil || strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), "wonderland") {
		t.Errorf("error %q; want a reason that names no password", err)
	}
	_, err = a.Authenticate(ConnectCreds{User: strings.Repeat("m", 10000)}, nil)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a huge user name has %d bytes; want it clipped", len(err.Error()))
	}
}

func TestIdentityPermissions(t *testing.T) {
	def := &Permissions{Publish: SubjectPermission{Allow: []string{"public.>"}}}
	own := &Permissions{Publish: SubjectPermission{Allow: []string{"admin.>"}}}
	a := mustNew(t, Config{
		DefaultPermissions: def,
		Users: []User{
			{Name: "plain", Password: "p"},
			{Name: "admin", Password: "p", Permissions: own},
			{Name: "free", Password: "p", Permissions: &Permissions{}},
		},
	})
	tests := []struct {
		user        string
		subject     string
		wantPublish bool
	}{
		{"plain", "public.x", true},
		{"plain", "admin.x", false},
		{"admin", "admin.x", true},
		{"admin", "public.x", false},
		{"free", "anything", true},
	}
	for _, tt := range tests {
		id, err := a.Authenticate(ConnectCreds{User: tt.user, Pass: "p"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := id.Perms.CanPublish([]byte(tt.subject)); got != tt.wantPublish {
			t.Errorf("user %s: CanPublish(%q) = %v; want %v", tt.user, tt.subject, got, tt.wantPublish)
		}
	}

	// Each identity has its own checker (and cache).
	id1, _ := a.Authenticate(ConnectCreds{User: "plain", Pass: "p"}, nil)
	id2, _ := a.Authenticate(ConnectCreds{User: "plain", Pass: "p"}, nil)
	if id1.Perms == id2.Perms {
		t.Errorf("two identities share a Checker; want one each")
	}
	if c := id1.Clone(); c.Perms == id1.Perms || c.Name != id1.Name || c.Method != id1.Method || c.Perms.CanPublish([]byte("admin.x")) {
		t.Errorf("Clone() = %+v; want the same name, method and policy with a Checker of its own", c)
	}
	free, _ := a.Authenticate(ConnectCreds{User: "free", Pass: "p"}, nil)
	if c := free.Clone(); c.Perms != nil {
		t.Errorf("Clone() of an unrestricted identity has Perms %v; want nil", c.Perms)
	}

	// Default permissions are for users only, as in nats-server: token
	// clients and unauthenticated ones are unrestricted.
	for _, tt := range []struct {
		name  string
		cfg   Config
		creds ConnectCreds
	}{
		{"no auth", Config{DefaultPermissions: def}, ConnectCreds{}},
		{"token", Config{Token: "t", DefaultPermissions: def}, ConnectCreds{Token: "t"}},
	} {
		id, err := mustNew(t, tt.cfg).Authenticate(tt.creds, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id.Perms != nil {
			t.Errorf("%s: Perms = %v; want nil (unrestricted)", tt.name, id.Perms)
		}
	}

	// An nkey user without permissions gets the defaults too.
	kp, pub := userPub(t)
	na := mustNew(t, Config{DefaultPermissions: def, Users: []User{{Nkey: pub}}})
	nonce := na.NewNonce()
	sig, _ := kp.Sign(nonce)
	id, err := na.Authenticate(ConnectCreds{Nkey: pub, Sig: encodeSig(sig)}, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if id.Perms.CanPublish([]byte("admin.x")) {
		t.Errorf("nkey user with defaults: CanPublish(admin.x) = true; want false")
	}
}

func TestLookup(t *testing.T) {
	a, err := New(Config{Users: []User{{Name: "dev", Password: "pw", Permissions: &Permissions{Publish: SubjectPermission{Allow: []string{"a.>"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Lookup("dev")
	if err != nil || id.Name != "dev" || id.Perms == nil || !id.Perms.CanPublish([]byte("a.b")) || id.Perms.CanPublish([]byte("b")) {
		t.Fatalf("Lookup(dev) = %+v, %v", id, err)
	}
	if _, err := a.Lookup("gone"); err == nil {
		t.Fatal("Lookup of an unknown user succeeded")
	}
	if _, err := a.Lookup(""); err == nil {
		t.Fatal("Lookup of no user succeeded with users configured")
	}
	var none *Authenticator
	if id, err := none.Lookup("x"); err != nil || id.Perms != nil {
		t.Fatalf("Lookup without authentication = %+v, %v", id, err)
	}
}
