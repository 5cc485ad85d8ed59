package tests

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// operatorHub starts a nats-server in operator mode trusting one operator
// with one account, and returns it with a .creds file for a user of that
// account and one whose JWT and seed belong to different users.
func operatorHub(t *testing.T) (hub *hubServer, creds, mismatched string) {
	t.Helper()
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	ojwt, err := jwt.NewOperatorClaims(opub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	oc, err := jwt.DecodeOperatorClaims(ojwt)
	if err != nil {
		t.Fatal(err)
	}
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	resolver := &natsserver.MemAccResolver{}
	if err := resolver.Store(apub, ajwt); err != nil {
		t.Fatal(err)
	}
	user := func() (string, []byte) {
		ukp, _ := nkeys.CreateUser()
		upub, _ := ukp.PublicKey()
		ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := ukp.Seed()
		return ujwt, seed
	}
	dir := t.TempDir()
	j1, s1 := user()
	_, s2 := user()
	b, err := jwt.FormatUserConfig(j1, s1)
	if err != nil {
		t.Fatal(err)
	}
	creds = writeFile(t, dir, "user.creds", string(b))
	// The same file with another user's seed.
	mismatched = writeFile(t, dir, "other.creds", strings.Replace(string(b), string(s1), string(s2), 1))
	hub = startHub(t, &natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: resolver})
	return hub, creds, mismatched
}

// wren's CLI with --creds against a nats-server in operator mode: the
// server checks the user JWT against its account and the nonce signature
// against the JWT's key, so a publish arriving proves both; a seed of
// another user, a missing file and --creds with --nkey fail with exit 1
// and say why.
func TestCLICredsOperatorMode(t *testing.T) {
	hub, creds, mismatched := operatorHub(t)
	s := "-s=" + hub.ClientURL()
	if _, err := nats.Connect(hub.ClientURL()); err == nil {
		t.Fatal("the operator-mode server accepted a client without credentials")
	}
	nc, err := nats.Connect(hub.ClientURL(), nats.UserCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 1)
	nc.ChanSubscribe("creds.x", got)
	flushNATS(t, nc)

	receive := func(want string) {
		t.Helper()
		select {
		case m := <-got:
			if string(m.Data) != want {
				t.Errorf("received %q; want %q", m.Data, want)
			}
		case <-time.After(testTimeout):
			t.Fatalf("%q, published with creds, did not arrive", want)
		}
	}
	cliRun(t, 0, "pub", "creds.x", "signed", s, "--creds", creds)
	receive("signed")
	t.Setenv("NATS_CREDS", creds)
	cliRun(t, 0, "pub", "creds.x", "env", s)
	receive("env")
	t.Setenv("NATS_CREDS", "")

	_, errOut := cliRun(t, 1, "pub", "creds.x", "1", s, "--creds", mismatched)
	if !strings.Contains(errOut, "Authorization Violation") {
		t.Errorf("a seed that does not match the JWT: stderr %q", errOut)
	}
	missing := filepath.Join(t.TempDir(), "missing.creds")
	if _, errOut = cliRun(t, 1, "pub", "creds.x", "1", s, "--creds", missing); !strings.Contains(errOut, "missing.creds") {
		t.Errorf("a missing creds file: stderr %q", errOut)
	}
	notCreds := writeFile(t, t.TempDir(), "seed.nk", "SUAM\n")
	if _, errOut = cliRun(t, 1, "pub", "creds.x", "1", s, "--creds", notCreds); !strings.Contains(errOut, "no user JWT") {
		t.Errorf("a file without a JWT: stderr %q", errOut)
	}
	if _, errOut = cliRun(t, 1, "pub", "creds.x", "1", s, "--creds", creds, "--nkey", creds); !strings.Contains(errOut, "exclude each other") {
		t.Errorf("--creds with --nkey: stderr %q", errOut)
	}
	select {
	case m := <-got:
		t.Errorf("a refused publish arrived: %q", m.Data)
	default:
	}
}
