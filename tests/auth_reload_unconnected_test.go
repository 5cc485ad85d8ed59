package tests

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

// TestConfReloadAddsAuthToUnconnected runs the daemon binary without
// authorization. A raw client subscribes without ever sending CONNECT
// (allowed while nothing requires credentials); a SIGHUP then adds users.
// That client must be told 'Authorization Violation' and closed, as
// nats-server closes every connection the new configuration does not
// authorize, and receive nothing published after the reload.
func TestConfReloadAddsAuthToUnconnected(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "wren.toml", usersConf(""))
	p := startWren(t, "-c", file)

	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	readLine := func() (string, error) {
		conn.SetReadDeadline(time.Now().Add(testTimeout))
		return r.ReadString('\n')
	}
	if line, err := readLine(); err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("first line %q, %v; want INFO", line, err)
	}
	if _, err := conn.Write([]byte("SUB secret.> 1\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := readLine(); err != nil || line != "PONG\r\n" {
		t.Fatalf("before the reload: %q, %v; want PONG (no CONNECT needed without authorization)", line, err)
	}

	writeFile(t, dir, "wren.toml", usersConf("", "user = \"alice\"\npassword = \"pw\""))
	p.signal(syscall.SIGHUP)
	p.waitLog("configuration reloaded")
	alice, err := daemonConnect(t, p, nats.UserInfo("alice", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Publish("secret.plans", []byte("for alice's eyes")); err != nil {
		t.Fatal(err)
	}
	if err := alice.FlushTimeout(testTimeout); err != nil {
		t.Fatal(err)
	}

	var got []string
	for {
		line, err := readLine()
		if err != nil {
			break // closed
		}
		got = append(got, line)
		if len(got) > 10 {
			break
		}
	}
	want := []string{"-ERR 'Authorization Violation'\r\n"}
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Fatalf("the unauthenticated connection read %q after the reload; want %q, then the connection closed", got, want)
	}
	if _, err := readLine(); err == nil {
		t.Fatal("the unauthenticated connection is still open")
	}
}

// TestReloadKeepsHandshakingConnections: with authorization on from the
// start, a connection that has not sent CONNECT yet could do nothing
// without it, so a reload leaves it open and its CONNECT is checked against
// the new users.
func TestReloadKeepsHandshakingConnections(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{{Name: "alice", Password: "pw"}}}
	s := startAuthServer(t, cfg, server.Options{})
	rc := dialRaw(t, s)
	cfg.Users = append(cfg.Users, auth.User{Name: "bob", Password: "pw2"})
	reload(t, s, &cfg, server.Options{})
	rc.connect(`"user":"bob","pass":"pw2"`)
}
