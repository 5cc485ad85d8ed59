package tests

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/wrenmq/wren/server/leaf"
)

// The link authenticates to the hub as the remote says: user and
// password, a token, an nkey seed file signing the hub's nonce; wrong
// credentials keep the link down and say why.
func TestLeafAuthentication(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	seedFile := filepath.Join(t.TempDir(), "leaf.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := filepath.Join(t.TempDir(), "other.nk")
	os.WriteFile(otherFile, otherSeed, 0o600)

	tests := []struct {
		name   string
		hub    func(o *natsserver.Options)
		remote leaf.Remote
		wantUp bool
	}{
		{"user and password", func(o *natsserver.Options) { o.LeafNode.Username, o.LeafNode.Password = "gw", "s3cret" },
			leaf.Remote{User: "gw", Password: "s3cret"}, true},
		{"wrong password", func(o *natsserver.Options) { o.LeafNode.Username, o.LeafNode.Password = "gw", "s3cret" },
			leaf.Remote{User: "gw", Password: "nope"}, false},
		{"token", func(o *natsserver.Options) { o.Authorization = "tok-17" },
			leaf.Remote{Token: "tok-17"}, true},
		{"nkey seed file", func(o *natsserver.Options) { o.Nkeys = []*natsserver.NkeyUser{{Nkey: pub}} },
			leaf.Remote{NkeyFile: seedFile}, true},
		{"another nkey", func(o *natsserver.Options) { o.Nkeys = []*natsserver.NkeyUser{{Nkey: pub}} },
			leaf.Remote{NkeyFile: otherFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := hubOpts(t, "hub", "")
			tt.hub(o)
			hub := startHub(t, o)
			r := tt.remote
			r.URLs = []*url.URL{hubLeafURL(t, hub)}
			gw := startGateway(t, "gw17", r)
			if tt.wantUp {
				gw.waitLinked(t, 1)
				lz, _ := hub.Leafz(nil)
				if len(lz.Leafs) != 1 {
					t.Fatalf("hub sees %d leafs", len(lz.Leafs))
				}
				return
			}
			waitUntil(t, func() error {
				l := gw.node.Leafz(false).Leafs[0]
				if !strings.Contains(l.LastError, "Authorization Violation") {
					return fmt.Errorf("last error %q", l.LastError)
				}
				return nil
			})
			if n := gw.node.Connected(); n != 0 {
				t.Fatalf("%d links up with wrong credentials", n)
			}
		})
	}
}
