package tests

import (
	"encoding/json"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestDropinStatszHeartbeat: with a system account the server publishes
// nats-server's ServerStatsMsg on $SYS.SERVER.<id>.STATSZ on its own, at
// growing intervals, to system users only (`nats server watch servers`
// listens there). While no system user listens, nothing is built: the
// system message sequence does not move.
func TestDropinStatszHeartbeat(t *testing.T) {
	s := startSysServer(t, false)
	admin := connectNATS(t, s, nats.UserInfo("admin", "admin"))
	app := connectNATS(t, s, nats.UserInfo("app", "app"))
	appSub, err := app.SubscribeSync("$SYS.SERVER.*.STATSZ")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, app)

	seq := func(data []byte) uint64 {
		var m struct {
			Server struct{ Seq uint64 } `json:"server"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%v in %s", err, data)
		}
		return m.Server.Seq
	}
	ask := func() uint64 {
		m, err := admin.Request("$SYS.REQ.SERVER.PING.STATSZ", nil, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		return seq(m.Data)
	}
	// The first beats (250 ms, 750 ms after start) pass with only an
	// application user subscribed: they build nothing.
	before := ask()
	time.Sleep(time.Second)
	if after := ask(); after != before+1 {
		t.Fatalf("system message sequence went from %d to %d across two requests; a beat built a message nobody listened to", before, after)
	}

	sub, err := admin.SubscribeSync("$SYS.SERVER.*.STATSZ")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, admin)
	want := "$SYS.SERVER." + s.ID() + ".STATSZ"
	var last uint64
	for i := range 2 {
		// Beats come at most every 10 s.
		m, err := sub.NextMsg(2*statszEveryForTest + testTimeout)
		if err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if m.Subject != want || m.Reply != "" {
			t.Fatalf("heartbeat on %q reply %q; want %s with no reply", m.Subject, m.Reply, want)
		}
		var st natsserver.ServerStatsMsg
		if err := json.Unmarshal(m.Data, &st); err != nil {
			t.Fatalf("heartbeat is not nats-server's ServerStatsMsg: %v in %s", err, m.Data)
		}
		if st.Server.ID != s.ID() || st.Server.Name != "gw1" || st.Stats.Connections != 2 || st.Stats.Start.IsZero() || st.Stats.Mem == 0 {
			t.Fatalf("heartbeat %d: %s", i, m.Data)
		}
		if n := seq(m.Data); n <= last {
			t.Fatalf("heartbeat %d has sequence %d after %d", i, n, last)
		} else {
			last = n
		}
	}
	// An application user hears none of it.
	flushNATS(t, app)
	if n, _, _ := appSub.Pending(); n != 0 {
		t.Fatalf("an application user received %d heartbeats", n)
	}
}

// statszEveryForTest is the longest interval between beats.
const statszEveryForTest = 10 * time.Second
