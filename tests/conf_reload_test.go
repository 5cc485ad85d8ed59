package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// usersConf is a config file with the given [[authorization.users]]
// blocks, on a free loopback port.
func usersConf(extra string, users ...string) string {
	var b strings.Builder
	b.WriteString("host = \"127.0.0.1\"\nport = 0\n" + extra + "\n")
	for _, u := range users {
		b.WriteString("[[authorization.users]]\n" + u + "\n")
	}
	return b.String()
}

func daemonConnect(t testing.TB, p *wrenProc, opts ...nats.Option) (*nats.Conn, error) {
	t.Helper()
	opts = append([]nats.Option{nats.NoReconnect(), nats.Timeout(testTimeout)}, opts...)
	nc, err := nats.Connect(p.url, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// TestConfReloadOnSIGHUP runs the daemon binary: SIGHUP with a broken file
// is logged with the file:line:column reason and changes nothing; SIGHUP
// with a good file adds a user, revokes a permission on an open connection
// and closes a removed user's connection.
func TestConfReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	alice := "user = \"alice\"\npassword = \"pw\"\npermissions.publish = [\"a.>\", \"b.>\"]"
	aliceLess := "user = \"alice\"\npassword = \"pw\"\npermissions.publish = [\"a.>\"]"
	bob := "user = \"bob\"\npassword = \"pw\""
	file := writeFile(t, dir, "wren.toml", usersConf("", alice, bob))
	p := startWren(t, "-c", file)

	ac, err := daemonConnect(t, p, nats.UserInfo("alice", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	onClose, bobClosed := closedWith()
	if _, err := daemonConnect(t, p, nats.UserInfo("bob", "pw"), onClose); err != nil {
		t.Fatal(err)
	}

	// A broken file: logged, and the old configuration stays.
	writeFile(t, dir, "wren.toml", usersConf("[limits]\nmax_payload = \"9MB\""))
	p.signal(syscall.SIGHUP)
	p.waitLog(`configuration reload failed; the running configuration stays in force" error="` + file + `:4:15: limits.max_payload:`)
	ac.Publish("b.x", nil)
	wantViolation(t, ac, "")
	if _, err := daemonConnect(t, p, nats.UserInfo("bob", "pw")); err != nil {
		t.Fatalf("bob after a failed reload: %v; want him still allowed", err)
	}

	// A good file: carol added, bob removed, alice loses b.>.
	writeFile(t, dir, "wren.toml", usersConf("[log]\nlevel = \"debug\"", aliceLess, "user = \"carol\"\npassword = \"pw\""))
	p.signal(syscall.SIGHUP)
	waitClosed(t, bobClosed, "authorization violation")
	p.waitLog("configuration reloaded")
	cc, err := daemonConnect(t, p, nats.UserInfo("carol", "pw"))
	if err != nil {
		t.Fatalf("carol after the reload: %v", err)
	}
	ac.Publish("b.x", nil)
	wantViolation(t, ac, `Permissions Violation for Publish to "b.x"`)
	sub, err := cc.SubscribeSync("a.x")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, cc)
	ac.Publish("a.x", nil)
	if _, err := sub.NextMsg(testTimeout); err != nil {
		t.Errorf("alice's a.x after the reload: %v; want it delivered", err)
	}
	// The log level changed too: debug lines appear.
	p.waitLog(`level=DEBUG msg="client authenticated"`)
}

func TestConfNoAuthWarning(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		warn       bool
	}{
		{"all interfaces, no auth", "host = \"0.0.0.0\"\nport = 0\n", true},
		{"loopback, no auth", "host = \"127.0.0.1\"\nport = 0\n", false},
		{"all interfaces, token", "host = \"0.0.0.0\"\nport = 0\n[authorization]\ntoken = \"t\"\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startWren(t, "-c", writeFile(t, dir, "wren.toml", tt.body))
			if got := strings.Contains(p.logText(), "level=WARN msg=\"NO AUTHENTICATION"); got != tt.warn {
				t.Errorf("warned %v; want %v. Log:\n%s", got, tt.warn, p.logText())
			}
		})
	}
}

// TestConfFlagsOverrideFile checks that command-line flags win over the
// file, and that log.format = "json" gives JSON lines.
func TestConfFlagsOverrideFile(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "wren.toml", "host = \"127.0.0.1\"\nport = 1\n[log]\nformat = \"json\"\n[authorization]\ntoken = \"from-file\"\n")
	p := startWren(t, "-c", file, "-p", "0", "--auth", "from-flag")
	for _, line := range strings.Split(strings.TrimSpace(p.logText()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
	if _, err := daemonConnect(t, p, nats.Token("from-flag")); err != nil {
		t.Errorf("token from the flag: %v; want accepted", err)
	}
	if _, err := daemonConnect(t, p, nats.Token("from-file")); err == nil {
		t.Errorf("token from the file accepted; want the flag's to replace it")
	}
}

func TestConfNkeyCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "user.nk")
	stdout, stderr, code := runWren(t, dir, "nkey", "--out", out)
	if code != 0 {
		t.Fatalf("wren nkey --out: exit %d, stderr %q", code, stderr)
	}
	pub := strings.TrimSpace(stdout)
	if !nkeys.IsValidPublicUserKey(pub) {
		t.Fatalf("stdout %q; want a public user nkey", stdout)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("seed file mode %v; want 0600", fi.Mode().Perm())
	}
	seed, _ := os.ReadFile(out)
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
	if err != nil {
		t.Fatalf("seed file: %v", err)
	}
	if got, _ := kp.PublicKey(); got != pub {
		t.Errorf("seed's public key %s; printed %s", got, pub)
	}
	if !strings.Contains(stderr, `nkey = "`+pub+`"`) {
		t.Errorf("stderr %q; want a config snippet with the key", stderr)
	}

	// The key works against the daemon.
	file := writeFile(t, dir, "wren.toml", usersConf("", `nkey = "`+pub+`"`))
	p := startWren(t, "-c", file)
	if _, err := daemonConnect(t, p, nkeyOption(t, out)); err != nil {
		t.Errorf("connect with the generated seed: %v", err)
	}

	// An existing seed is never overwritten.
	if _, stderr, code := runWren(t, dir, "nkey", "--out", out); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("second wren nkey --out: exit %d, stderr %q; want 1 and 'already exists'", code, stderr)
	}
	if again, _ := os.ReadFile(out); string(again) != string(seed) {
		t.Errorf("seed file changed")
	}

	// Without --out both are printed, seed first.
	stdout, _, code = runWren(t, dir, "nkey")
	lines := strings.Fields(stdout)
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "SU") || !nkeys.IsValidPublicUserKey(lines[1]) {
		t.Errorf("wren nkey = %d, %q; want a seed and a public key", code, stdout)
	}
}
