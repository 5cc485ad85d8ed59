package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/conf"
)

func loadWith(t *testing.T, file string, args ...string) (*flags, *conf.Config) {
	t.Helper()
	if file != "" {
		path := filepath.Join(t.TempDir(), "wren.toml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"-c", path}, args...)
	}
	f, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", args, err)
	}
	cfg, err := loadConfig(f)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	return f, cfg
}

func TestFlagsOverrideFile(t *testing.T) {
	file := "host = \"10.0.0.1\"\nport = 4000\n[limits]\nmax_payload = \"2MB\"\n[log]\nlevel = \"warn\"\n"
	tests := []struct {
		name string
		args []string
		got  func(*conf.Config) any
		want any
	}{
		{"file value", nil, func(c *conf.Config) any { return c.Port }, 4000},
		{"short flag", []string{"-p", "5000"}, func(c *conf.Config) any { return c.Port }, 5000},
		{"port 0 from a flag", []string{"--port", "0"}, func(c *conf.Config) any { return c.Port }, 0},
		{"alias", []string{"--net", "127.0.0.1"}, func(c *conf.Config) any { return c.Host }, "127.0.0.1"},
		{"last flag wins", []string{"-a", "127.0.0.2", "--addr", "127.0.0.3"}, func(c *conf.Config) any { return c.Host }, "127.0.0.3"},
		{"size", []string{"--max_payload", "512KB"}, func(c *conf.Config) any { return c.Limits.MaxPayload }, 512 * conf.Kilobyte},
		{"duration", []string{"--ping_interval", "30s"}, func(c *conf.Config) any { return c.Limits.PingInterval.Duration() }, 30 * time.Second},
		{"debug", []string{"-D"}, func(c *conf.Config) any { return c.Log.Level }, "debug"},
		{"debug=false keeps the file", []string{"--debug=false"}, func(c *conf.Config) any { return c.Log.Level }, "warn"},
		{"bool flag", []string{"-js"}, func(c *conf.Config) any { return c.JetStream.Enabled }, true},
		{"store dir enables streams", []string{"-sd", "/tmp/x"}, func(c *conf.Config) any { return c.JetStream.Enabled && c.JetStream.StoreDir == "/tmp/x" }, true},
		{"monitor port", []string{"-m", "8222"}, func(c *conf.Config) any { return c.Monitor.Port }, 8222},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := loadWith(t, file, tt.args...)
			if got := tt.got(cfg); got != tt.want {
				t.Errorf("with %q: got %v; want %v", tt.args, got, tt.want)
			}
		})
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--port", "x"},
		{"--max_payload", "1.5MB"},
		{"--ping_interval", "soon"},
		{"--tlsverify=maybe"},
		{"--nope"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error; want one", args)
		}
	}
}

func TestBuildOptions(t *testing.T) {
	f, cfg := loadWith(t, `
server_name = "edge-1"
[limits]
max_payload = "2MB"
max_control_line = "8KB"
max_connections = 10
max_subscriptions = 5
max_pending = "32MB"
ping_interval = "30s"
max_pings_out = 3
write_deadline = "5s"
[authorization]
timeout = "3s"
`)
	o, err := buildOptions(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{o.ServerName, o.MaxPayload, o.MaxControlLine, o.MaxConnections, o.MaxSubscriptions, o.MaxPending,
		o.PingInterval, o.MaxPingsOut, o.WriteDeadline, o.AuthTimeout, o.Auth == nil, o.TLS == nil}
	want := []any{"edge-1", 2 << 20, 8 << 10, 10, 5, int64(32 << 20),
		30 * time.Second, 3, 5 * time.Second, 3 * time.Second, true, true}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("option %d = %v; want %v", i, got[i], want[i])
		}
	}
}

func TestBuildAuth(t *testing.T) {
	_, cfg := loadWith(t, `
[authorization]
timeout = "1s"
[authorization.default_permissions]
publish = ["public.>"]
[[authorization.users]]
user = "svc"
password = "pw"
permissions.publish = { allow = ["svc.>"], deny = ["svc.admin"] }
permissions.subscribe = { allow = ["req.>"], deny = ["req.secret"] }
permissions.allow_responses = { max = 2, expires = "1m" }
[[authorization.users]]
user = "plain"
password = "pw"
`)
	a, err := buildAuth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Timeout() != time.Second {
		t.Errorf("Timeout() = %v; want 1s", a.Timeout())
	}
	svc, err := a.Authenticate(auth.ConnectCreds{User: "svc", Pass: "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := a.Authenticate(auth.ConnectCreds{User: "plain", Pass: "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Perms.Replies().Record([]byte("_INBOX.r"))
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"svc publishes svc.x", svc.Perms.CanPublish([]byte("svc.x")), true},
		{"svc publishes svc.admin", svc.Perms.CanPublish([]byte("svc.admin")), false},
		{"svc replies", svc.Perms.CanPublish([]byte("_INBOX.r")), true},
		{"svc replies twice", svc.Perms.CanPublish([]byte("_INBOX.r")), true},
		{"svc replies three times", svc.Perms.CanPublish([]byte("_INBOX.r")), false},
		{"svc subscribes req.>", svc.Perms.CanSubscribe([]byte("req.>"), nil), true},
		{"svc subscribes req.secret", svc.Perms.CanSubscribe([]byte("req.secret"), nil), false},
		{"plain gets the defaults", plain.Perms.CanPublish([]byte("public.x")), true},
		{"plain outside the defaults", plain.Perms.CanPublish([]byte("svc.x")), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v; want %v", tt.name, tt.got, tt.want)
		}
	}

	for _, tt := range []struct {
		name, file string
		required   bool
	}{
		{"none", "", false},
		{"single user", "[authorization]\nuser = \"u\"\npassword = \"p\"\n", true},
		{"token", "[authorization]\ntoken = \"t\"\n", true},
	} {
		_, cfg := loadWith(t, tt.file)
		a, err := buildAuth(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := a != nil && a.Required(); got != tt.required {
			t.Errorf("%s: auth required %v; want %v", tt.name, got, tt.required)
		}
	}
}

// authorization.no_auth_user reaches the authenticator: a client without
// credentials is the named user, with its permissions.
func TestBuildAuthNoAuthUser(t *testing.T) {
	_, cfg := loadWith(t, `
[authorization]
no_auth_user = "device"
[[authorization.users]]
user = "device"
password = "pw"
permissions.publish = ["telemetry.>"]
`)
	a, err := buildAuth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(auth.ConnectCreds{}, nil)
	if err != nil {
		t.Fatalf("Authenticate(no credentials) = %v; want the no_auth_user", err)
	}
	if id.Name != "device" || !id.Perms.CanPublish([]byte("telemetry.t")) || id.Perms.CanPublish([]byte("other")) {
		t.Errorf("no-credentials identity %q: publish telemetry.t %v, other %v; want device, true, false",
			id.Name, id.Perms.CanPublish([]byte("telemetry.t")), id.Perms.CanPublish([]byte("other")))
	}
}
