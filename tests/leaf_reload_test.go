package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// SIGHUP applies a changed [leafnodes] section to the running daemon: a
// changed remote (new credentials and deny_imports) is dialled again with
// its new settings, an added one is dialled, a removed one is closed, and
// an unchanged one keeps its link up throughout (the hub sees the same
// connection).
func TestLeafReloadRemotesOnSIGHUP(t *testing.T) {
	ao := hubOpts(t, "hubA", "")
	ao.LeafNode.Users = []*natsserver.User{{Username: "gw1", Password: "p1"}, {Username: "gw2", Password: "p2"}}
	hubA := startHub(t, ao)
	hubB := startHub(t, hubOpts(t, "hubB", ""))
	hubC := startHub(t, hubOpts(t, "hubC", ""))
	leafURL := func(h *hubServer) string { return hubLeafURL(t, h).String() }
	remote := func(h *hubServer, extra string) string {
		return fmt.Sprintf("[[leafnodes.remotes]]\nurls = [%q]\n%s\n", leafURL(h), extra)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "wren.toml")
	write := func(remotes ...string) {
		cfg := "host = \"127.0.0.1\"\nport = 0\nserver_name = \"gw17\"\n[leafnodes]\nreconnect = \"50ms\"\nreconnect_max = \"500ms\"\n" + strings.Join(remotes, "")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(remote(hubA, "user = \"gw1\"\npassword = \"p1\"\ndeny_imports = [\"x.>\"]"), remote(hubB, ""))
	gw := startUplinkDaemon(t, path)
	leafID := func(h *hubServer) (uint64, error) {
		lz, err := h.Leafz(nil)
		if err != nil {
			return 0, err
		}
		if len(lz.Leafs) != 1 {
			return 0, fmt.Errorf("%s has %d leaf links, want 1", h.Name(), len(lz.Leafs))
		}
		return lz.Leafs[0].ID, nil
	}
	var aID, bID uint64
	waitUntil(t, func() (err error) {
		if aID, err = leafID(hubA); err == nil {
			bID, err = leafID(hubB)
		}
		return err
	})

	local, err := nats.Connect(gw.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	sub, _ := local.SubscribeSync("*.y")
	flushNATS(t, local)
	pubA := connectHub(t, hubA)
	waitHubInterest(t, hubA, "*.y")
	// deny_imports keeps x.y out; ok.y, published after it, arrives.
	crossed := func() string {
		pubA.Publish("x.y", []byte("x"))
		pubA.Publish("ok.y", []byte("ok"))
		flushNATS(t, pubA)
		m, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("from hubA: %v", err)
		}
		if m.Subject == "x.y" {
			if _, err := sub.NextMsg(testTimeout); err != nil {
				t.Fatalf("ok.y after x.y: %v", err)
			}
		}
		return m.Subject
	}
	if s := crossed(); s != "ok.y" {
		t.Fatalf("%s crossed before the reload; deny_imports x.> should keep it out", s)
	}

	// A changed (credentials, deny_imports), B unchanged, C added.
	write(remote(hubA, "user = \"gw2\"\npassword = \"p2\""), remote(hubB, ""), remote(hubC, ""))
	gw.out.signal(syscall.SIGHUP)
	gw.out.waitLog("leafnode remotes reloaded")
	waitUntil(t, func() error {
		id, err := leafID(hubA)
		if err != nil {
			return err
		}
		if id == aID {
			return fmt.Errorf("hubA still has the link of before the reload (id %d)", id)
		}
		_, err = leafID(hubC)
		return err
	})
	if id, err := leafID(hubB); err != nil || id != bID {
		t.Fatalf("hubB's link after the reload: id %d (%v); want the unchanged %d, never dropped", id, err, bID)
	}
	waitHubInterest(t, hubA, "*.y")
	if s := crossed(); s != "x.y" {
		t.Fatalf("%s crossed first after the reload; x.y should now cross", s)
	}

	// A removed: its hub loses the link, B keeps its own.
	write(remote(hubB, ""), remote(hubC, ""))
	gw.out.signal(syscall.SIGHUP)
	waitUntil(t, func() error {
		lz, err := hubA.Leafz(nil)
		if err != nil {
			return err
		}
		if len(lz.Leafs) != 0 {
			return fmt.Errorf("hubA still has %d leaf links", len(lz.Leafs))
		}
		return nil
	})
	if id, err := leafID(hubB); err != nil || id != bID {
		t.Fatalf("hubB's link after the second reload: id %d (%v); want %d", id, err, bID)
	}
	if strings.Contains(gw.out.logText(), "needs a restart") {
		t.Fatalf("a reload of the remotes asked for a restart:\n%s", gw.out.logText())
	}
}
