package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestDropinConfEveryErrorInOneRun: a file with three mistakes of both
// kinds (a value of the wrong type and two invalid values) gets all three
// in one run, each as file:line:column: key: problem.
func TestDropinConfEveryErrorInOneRun(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "wren.toml", "port = 70000\n\n[log]\ntime = 1\n\n[jetstream]\nsync = \"sometimes\"\n")
	_, stderr, code := runWren(t, dir, "--check", "-c", path)
	want := []string{
		path + ":1:8: port: 70000 is out of range",
		path + ":4:8: log.time: expected true or false",
		path + `:7:8: jetstream.sync: unknown sync policy "sometimes"`,
	}
	if code != 1 {
		t.Fatalf("exit code %d; want 1\n%s", code, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Fatalf("stderr has no %q:\n%s", w, stderr)
		}
	}
}

// TestDropinConfCheckProvesStoreAndPorts: --check fails, naming the key
// and its place in the file, when the store directory cannot be created
// or written, and when a port is taken; with both fixed it passes.
func TestDropinConfCheckProvesStoreAndPorts(t *testing.T) {
	dir := t.TempDir()
	// A file where a directory is needed: not creatable even for root.
	blocker := writeFile(t, dir, "not-a-dir", "x")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	body := "host = \"127.0.0.1\"\nport = " + strconv.Itoa(taken) + "\n\n[jetstream]\nenabled = true\nstore_dir = \"" +
		filepath.Join(blocker, "jetstream") + "\"\n"
	path := writeFile(t, dir, "wren.toml", body)
	_, stderr, code := runWren(t, dir, "--check", "-c", path)
	if code != 1 || !strings.Contains(stderr, path+":2:8: port: not free") ||
		!strings.Contains(stderr, path+":6:13: jetstream.store_dir: cannot create the store directory") {
		t.Fatalf("exit %d, stderr:\n%s\nwant the port and the store directory named at their lines", code, stderr)
	}

	good := writeFile(t, dir, "good.toml", "host = \"127.0.0.1\"\nport = 0\n\n[jetstream]\nenabled = true\nstore_dir = \""+
		filepath.Join(dir, "store")+"\"\n")
	stdout, stderr, code := runWren(t, dir, "--check", "-c", good)
	if code != 0 || !strings.Contains(stdout, "configuration is valid") {
		t.Fatalf("good file: exit %d\n%s%s", code, stdout, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "store", ".wren-check-*")); len(left) != 0 {
		t.Fatalf("--check left %v behind", left)
	}

	// Checking the file of the daemon that runs is no port conflict.
	p := startWren(t, "-a", "127.0.0.1", "-p", "0")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.url, "nats://"))
	live := writeFile(t, dir, "live.toml", "host = \"127.0.0.1\"\nport = "+port+"\n")
	_, stderr, code = runWren(t, dir, "--check", "-c", live)
	if code != 0 || !strings.Contains(stderr, "in use by a running wren") {
		t.Fatalf("checking the running daemon's file: exit %d\n%s", code, stderr)
	}
}

// TestDropinConfReloadNamesKeys: a reload that changes a key needing a
// restart warns with the key's full path and both values, and keeps
// comparing with what runs: a second reload of the same file warns again.
func TestDropinConfReloadNamesKeys(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	conf := func(sync string) string {
		return "host = \"127.0.0.1\"\nport = 0\n\n[jetstream]\nenabled = true\nstore_dir = \"" + store + "\"\nsync = \"" + sync + "\"\n"
	}
	path := writeFile(t, dir, "wren.toml", conf("always"))
	p := startWren(t, "-c", path)
	writeFile(t, dir, "wren.toml", conf("interval"))
	warning := "option=jetstream.sync running=always configured=interval"
	for round := 1; round <= 2; round++ {
		p.signal(syscall.SIGHUP)
		waitUntil(t, func() error {
			if n := strings.Count(p.logText(), warning); n < round {
				return fmt.Errorf("reload %d: %d warnings %q in the log:\n%s", round, n, warning, p.logText())
			}
			return nil
		})
	}
	if strings.Contains(p.logText(), "option=jetstream ") {
		t.Fatalf("a warning names the whole section:\n%s", p.logText())
	}
}

// TestDropinConfJSWithoutStoreDir: wren -js with no store directory and no
// config file keeps streams in a temporary directory and says so, as
// nats-server -js does, instead of failing under /var/lib for a user who
// is not root.
func TestDropinConfJSWithoutStoreDir(t *testing.T) {
	// Built first: under the TMPDIR set below, the binary shared by the
	// tests would be removed with this test's directory.
	wrenPath(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	p := startWren(t, "-js", "-a", "127.0.0.1", "-p", "0")
	want := filepath.Join(tmp, "wren", "jetstream")
	p.waitLog("temporary directory")
	if !strings.Contains(p.logText(), want) {
		t.Fatalf("log does not name %s:\n%s", want, p.logText())
	}
	nc, err := nats.Connect(p.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TRY", Subjects: []string{"try.>"}}); err != nil {
		t.Fatal(err)
	}
	if ack, err := js.Publish(ctx, "try.1", []byte("x")); err != nil || ack.Sequence != 1 {
		t.Fatalf("publish: %v, %v", ack, err)
	}
	if entries, err := os.ReadDir(want); err != nil || len(entries) == 0 {
		t.Fatalf("store directory %s: %v, %d entries; want the stream's files", want, err, len(entries))
	}
}
