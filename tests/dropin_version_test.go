package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wrenmq/wren/server"
)

// TestDropinVersions: INFO's version is the nats-server level Wren is
// compatible with (what clients gate features on), and Wren's own version
// is a separate field in INFO, in the $SYS VARZ reply and in
// wren --version.
func TestDropinVersions(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	if rc.info["version"] != server.CompatVersion || rc.info["wren_version"] != server.Version {
		t.Fatalf("INFO version %v, wren_version %v; want %s and %s", rc.info["version"], rc.info["wren_version"], server.CompatVersion, server.Version)
	}
	if nc := connectNATS(t, s); nc.ConnectedServerVersion() != server.CompatVersion {
		t.Fatalf("nats.go sees server version %q; want %s", nc.ConnectedServerVersion(), server.CompatVersion)
	}
	stdout, _, code := runWren(t, t.TempDir(), "--version")
	if code != 0 || !strings.HasPrefix(stdout, "wren "+server.Version+" ") {
		t.Fatalf("wren --version = %q (exit %d); want it to start with \"wren %s \"", stdout, code, server.Version)
	}
}

// TestDropinCheckConsumerCLI: nats server check consumer is OK for a
// consumer that delivered and had its message acked (it reads
// delivered.last_active and ack_floor.last_active; nats-server v2.15.2
// prints "OK S_C | ... last_delivery=... last_ack=...").
func TestDropinCheckConsumerCLI(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})
	mustPublish(t, js, "s.a", "x", 1)
	if got := fetchData(t, c, 1, testTimeout, true); len(got) != 1 {
		t.Fatalf("fetched %v", got)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.AckFloor.Stream != 1 {
			return fmt.Errorf("ack floor %d", ci.AckFloor.Stream)
		}
		return nil
	})
	mustNATS(t, j.srv.ClientURL(), []string{"OK S_C", "last_delivery=", "last_ack="},
		"server", "check", "consumer", "--stream", "S", "--consumer", "C", "--last-delivery-critical", "1h", "--last-ack-critical", "1h")
}
