package conf

import (
	"strings"
	"testing"
)

// A bad leafnodes section is refused with one error per problem, each at
// its key's place in the file.
func TestLeafnodesErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // one line of the error
	}{
		{"bad scheme", "[[leafnodes.remotes]]\nurls = ['http://hub:7422']",
			`t.toml:2:9: leafnodes.remotes[0].urls[0]: "http://hub:7422": scheme must be nats-leaf, nats, tls, ws or wss`},
		{"no urls", "[[leafnodes.remotes]]\nuser = 'gw'\npassword = 'x'",
			"leafnodes.remotes[0].urls: needs at least one URL of the hub's leaf port"},
		{"two credentials", "[[leafnodes.remotes]]\nurls = ['nats-leaf://hub']\ntoken = 't'\nnkey_file = '/k'",
			"leafnodes.remotes[0]: set at most one of user/password, token, nkey_file and credentials"},
		{"bad deny", "[[leafnodes.remotes]]\nurls = ['nats-leaf://hub']\ndeny_exports = ['a..b']",
			"leafnodes.remotes[0].deny_exports[0]:"},
		{"forward without streams", "[[leafnodes.remotes]]\nurls = ['nats-leaf://hub']\n[[leafnodes.forwards]]\nstream = 'S'\nsubject = 'sensors.>'\nupstream = 'site.gw.sensors.>'",
			"leafnodes.forwards[0]: needs jetstream.enabled: a forward reads a local stream"},
		{"upstream not a prefix", "[jetstream]\nenabled = true\n[[leafnodes.remotes]]\nurls = ['nats-leaf://hub']\n[[leafnodes.forwards]]\nstream = 'S'\nsubject = 'sensors.>'\nupstream = 'site.*.x'",
			`leafnodes.forwards[0].upstream: "site.*.x" must be literal tokens ending in ">"`},
		{"hub stream without domain", "[jetstream]\nenabled = true\n[[leafnodes.remotes]]\nurls = ['nats-leaf://hub']\n[[leafnodes.forwards]]\nstream = 'S'\nsubject = 'sensors.>'\nupstream = 'site.gw.>'\nhub_stream = 'SITES'",
			"leafnodes.forwards[0].hub_stream: needs hub_domain: nats-server keeps $JS.API off leaf connections"},
		{"hub domain without stream", "[jetstream]\nenabled = true\n[[leafnodes.remotes]]\nurls = ['nats-leaf://hub']\n[[leafnodes.forwards]]\nstream = 'S'\nsubject = 'sensors.>'\nupstream = 'site.gw.>'\nhub_domain = 'hub'",
			"leafnodes.forwards[0].hub_domain: needs hub_stream"},
		{"pull without filter", "[jetstream]\nenabled = true\n[[leafnodes.remotes]]\nurls = ['nats-leaf://hub']\n[[leafnodes.pulls]]\nhub_stream = 'C'\nhub_domain = 'hub'\nstream = 'L'",
			"leafnodes.pulls[0].filter: must be set"},
		{"bad jetstream domain", "[jetstream]\nenabled = true\ndomain = 'gw.17'",
			`jetstream.domain: "gw.17" is not a JetStream domain name`},
		{"reconnect_max below reconnect", "[leafnodes]\nreconnect = '10s'\nreconnect_max = '1s'",
			`leafnodes.reconnect_max: "1s" is shorter than leafnodes.reconnect (10s)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v; want an error with %q", err, tt.want)
			}
		})
	}
	good := "[jetstream]\nenabled = true\n[[leafnodes.remotes]]\nurls = ['nats-leaf://hub:7422', 'tls://u:p@hub2']\n[[leafnodes.forwards]]\nstream = 'S'\nsubject = 'sensors.>'\nupstream = 'site.gw.sensors.>'\nhub_stream = 'SITES'\nhub_domain = 'hub'\n[[leafnodes.pulls]]\nhub_stream = 'C'\nhub_domain = 'hub'\nfilter = 'cmd.gw.>'\nstream = 'L'"
	c, err := Parse("t.toml", []byte(good))
	if err != nil {
		t.Fatalf("Parse(good) = %v", err)
	}
	if len(c.Leafnodes.Remotes[0].URLs) != 2 || c.Leafnodes.Forwards[0].HubStream != "SITES" || c.Leafnodes.Pulls[0].Filter != "cmd.gw.>" {
		t.Fatalf("Parse(good) = %+v", c.Leafnodes)
	}
}
