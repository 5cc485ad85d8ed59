package tests

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/server"
)

// startSysServer starts a broker named gw1 with the system account SYS
// (user admin) and an application user app, and streams when asked.
func startSysServer(t testing.TB, streams bool) *server.Server {
	t.Helper()
	a := mustAuth(t, auth.Config{Users: []auth.User{{Name: "admin", Password: "admin"}, {Name: "app", Password: "app"}}})
	return startWrenWith(t, server.Options{ServerName: "gw1", Auth: a, SystemAccount: "SYS", SystemUsers: []string{"admin"}}, streams)
}

// sysEnvelope is nats-server's reply to a $SYS.REQ.SERVER request.
type sysEnvelope struct {
	Server struct {
		Name, ID, Ver string
		JetStream     bool
	} `json:"server"`
	Data   map[string]any `json:"data"`
	Statsz map[string]any `json:"statsz"`
}

func sysRequest(t testing.TB, nc *nats.Conn, subject string) *sysEnvelope {
	t.Helper()
	m, err := nc.Request(subject, nil, testTimeout)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var env sysEnvelope
	if err := json.Unmarshal(m.Data, &env); err != nil {
		t.Fatalf("%s: %v in %s", subject, err, m.Data)
	}
	return &env
}

// TestDropinSysRequests: a system user's $SYS.REQ.SERVER.PING[.X] and
// $SYS.REQ.SERVER.<id>.X get nats-server's envelope around the same JSON
// as the monitoring endpoints (nats-server v2.15.2 with accounts { SYS {
// users = [...] } } and system_account: SYS answers the same subjects,
// with "server" and "data", or "statsz" for PING and STATSZ).
func TestDropinSysRequests(t *testing.T) {
	s := startSysServer(t, true)
	nc := connectNATS(t, s, nats.UserInfo("admin", "admin"))
	app := connectNATS(t, s, nats.UserInfo("app", "app"))
	if _, err := app.SubscribeSync("sensors.>"); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, app)

	ping := sysRequest(t, nc, "$SYS.REQ.SERVER.PING")
	if ping.Server.Name != "gw1" || ping.Server.ID != s.ID() || ping.Server.Ver != server.CompatVersion || !ping.Server.JetStream {
		t.Fatalf("PING server = %+v; want gw1, %s, %s, jetstream", ping.Server, s.ID(), server.CompatVersion)
	}
	if ping.Statsz["connections"] != float64(2) || ping.Statsz["active_servers"] != float64(1) {
		t.Fatalf("PING statsz = %v; want 2 connections, 1 active server", ping.Statsz)
	}
	for _, subj := range []string{"$SYS.REQ.SERVER.PING.VARZ", "$SYS.REQ.SERVER." + s.ID() + ".VARZ"} {
		v := sysRequest(t, nc, subj).Data
		js, _ := v["jetstream"].(map[string]any)
		if v["server_id"] != s.ID() || v["system_account"] != "SYS" || v["auth_required"] != true || js["config"] == nil || js["stats"] == nil {
			t.Fatalf("%s data = %v; want this server's varz with jetstream config and stats", subj, v)
		}
	}
	cz := sysRequest(t, nc, "$SYS.REQ.SERVER.PING.CONNZ").Data
	conns, _ := cz["connections"].([]any)
	if cz["num_connections"] != float64(2) || len(conns) != 2 {
		t.Fatalf("CONNZ data = %v; want the 2 connections", cz)
	}
	accounts := map[any]bool{}
	for _, c := range conns {
		accounts[c.(map[string]any)["account"]] = true
	}
	if !accounts["SYS"] || !accounts["$G"] {
		t.Fatalf("CONNZ accounts = %v; want SYS and $G", accounts)
	}
	if az := sysRequest(t, nc, "$SYS.REQ.SERVER.PING.ACCOUNTZ").Data; az["system_account"] != "SYS" || len(az["accounts"].([]any)) != 2 {
		t.Fatalf("ACCOUNTZ data = %v; want $G and SYS", az)
	}
	if sz := sysRequest(t, nc, "$SYS.REQ.SERVER.PING.SUBSZ").Data; sz["num_subscriptions"] == nil {
		t.Fatalf("SUBSZ data = %v", sz)
	}
	if jz := sysRequest(t, nc, "$SYS.REQ.SERVER.PING.JSZ").Data; jz["server_id"] != s.ID() || jz["streams"] != float64(0) {
		t.Fatalf("JSZ data = %v", jz)
	}
	if hz := sysRequest(t, nc, "$SYS.REQ.SERVER.PING.HEALTHZ").Data; hz["status"] != "ok" || hz["status_code"] != float64(200) {
		t.Fatalf("HEALTHZ data = %v", hz)
	}
	if st := sysRequest(t, nc, "$SYS.REQ.SERVER."+s.ID()+".STATSZ").Statsz; st["connections"] != float64(2) {
		t.Fatalf("STATSZ = %v", st)
	}
	// A PING filtered to another server's name is not answered by this one.
	m, err := nc.Request("$SYS.REQ.SERVER.PING", []byte(`{"server_name":"hub"}`), 300*time.Millisecond)
	if !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("PING for server hub: %v, %v; want no answer", m, err)
	}
}

// TestDropinSysIsolation: $SYS belongs to the system account. An
// application user's request finds no responders (as from a nats-server
// account that has no system import), and what it publishes on $SYS
// reaches nobody; the system account's events never reach application
// subscribers, not even through ">".
func TestDropinSysIsolation(t *testing.T) {
	s := startSysServer(t, false)
	admin := connectNATS(t, s, nats.UserInfo("admin", "admin"))
	app := connectNATS(t, s, nats.UserInfo("app", "app"))
	if _, err := app.Request("$SYS.REQ.SERVER.PING", nil, testTimeout); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("application user's PING: %v; want no responders", err)
	}
	sysEvents, err := admin.SubscribeSync("$SYS.>")
	if err != nil {
		t.Fatal(err)
	}
	appAll, err := app.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, admin, app)
	if err := app.Publish("$SYS.ACCOUNT.$G.CONNECT", []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	other := connectNATS(t, s, nats.UserInfo("app", "app"), nats.Name("other"))
	other.Close()
	// The system user hears the connect and disconnect, nothing forged.
	for _, want := range []string{"CONNECT", "DISCONNECT"} {
		m, err := sysEvents.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if m.Subject != "$SYS.ACCOUNT.$G."+want || strings.Contains(string(m.Data), "forged") {
			t.Fatalf("event %s %s; want $SYS.ACCOUNT.$G.%s", m.Subject, m.Data, want)
		}
	}
	flushNATS(t, admin, app)
	if got := drainPending(t, appAll); len(got) != 0 {
		t.Fatalf("application subscriber to > got %s; want nothing from $SYS", got[0].Subject)
	}
}

// TestDropinSysEvents: $SYS.ACCOUNT.<account>.CONNECT and DISCONNECT carry
// nats-server's advisory types and client info (account, user, name),
// the disconnect its counts and reason.
func TestDropinSysEvents(t *testing.T) {
	s := startSysServer(t, false)
	admin := connectNATS(t, s, nats.UserInfo("admin", "admin"))
	sub, err := admin.SubscribeSync("$SYS.ACCOUNT.*.*")
	if err != nil {
		t.Fatal(err)
	}
	flushNATS(t, admin)
	app := connectNATS(t, s, nats.UserInfo("app", "app"), nats.Name("meter-7"))
	if err := app.Publish("sensors.x", []byte("21.5")); err != nil {
		t.Fatal(err)
	}
	flushNATS(t, app)
	app.Close()
	type event struct {
		Type   string
		Client struct {
			Acc, User, Name string
			ID              uint64
		}
		Received struct{ Msgs, Bytes int64 }
		Reason   string
	}
	var evs []event
	for range 2 {
		m, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		var ev event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if c, d := evs[0], evs[1]; c.Type != "io.nats.server.advisory.v1.client_connect" || c.Client.Acc != "$G" || c.Client.User != "app" || c.Client.Name != "meter-7" ||
		d.Type != "io.nats.server.advisory.v1.client_disconnect" || d.Client.ID != c.Client.ID || d.Received.Msgs < 1 || d.Reason != "Client Closed" {
		t.Fatalf("events = %+v", evs)
	}
}

// TestDropinSysCLI: the nats CLI's server commands work against a
// gateway with no HTTP port open, as against nats-server with a system
// account (tests/dropin_side_by_side.sh runs them against both).
func TestDropinSysCLI(t *testing.T) {
	s := startSysServer(t, true)
	admin := withCreds(s.ClientURL(), "admin", "admin")
	mustNATS(t, admin, []string{"gw1", "rtt="}, "server", "ping", "1")
	mustNATS(t, admin, []string{"Server Overview", "gw1", server.CompatVersion}, "server", "list", "1")
	mustNATS(t, admin, []string{"Server information for gw1", "Storage Directory", "Connections"}, "server", "info")
	mustNATS(t, admin, []string{"Connections per server", "gw1", "SYS"}, "server", "report", "connections")
	mustNATS(t, admin, []string{"JetStream Summary", "gw1"}, "server", "report", "jetstream")
	mustNATS(t, admin, []string{"OK JetStream"}, "server", "check", "jetstream")
	mustNATS(t, admin, []string{"Health Report", "ok (200)"}, "server", "report", "health")
	mustNATS(t, admin, []string{"Leafnode Report"}, "server", "report", "leafnodes")
	mustNATS(t, admin, []string{"OK gw1"}, "server", "check", "server", "--name", "gw1")
	mustNATS(t, admin, []string{`"system_account":"SYS"`, `"accounts":["$G","SYS"]`}, "server", "request", "accounts")
	// Any account may ask about itself, as nats-server imports
	// $SYS.REQ.ACCOUNT.PING.STATZ and CONNZ into each account: the
	// application user sees its own connections, not the system user's.
	app := withCreds(s.ClientURL(), "app", "app")
	mustNATS(t, app, []string{"Server Statistics"}, "account", "report", "statistics")
	if out := mustNATS(t, app, []string{"$G"}, "account", "report", "connections"); strings.Contains(out, "SYS") {
		t.Fatalf("an application user's account report lists the system account:\n%s", out)
	}
	// An application user is told what nats-server tells it.
	out, err := runNATS(t, app, "server", "list")
	if err == nil || !strings.Contains(out, "system privileges") {
		t.Fatalf("server list as an application user: %v\n%s; want the CLI's system privileges error", err, out)
	}
}

// TestDropinAccountReportsWithoutSystemAccount: with no system account
// configured, every client may still ask about its own account, as a
// plain nats-server -js answers nats account report statistics and
// connections; the server-wide requests find no responders there too.
func TestDropinAccountReportsWithoutSystemAccount(t *testing.T) {
	s := startWrenWith(t, server.Options{ServerName: "plain"}, false)
	nc := connectNATS(t, s, nats.Name("meter"))
	m, err := nc.Request("$SYS.REQ.ACCOUNT.PING.STATZ", nil, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Data struct {
			AccountStatz []struct {
				Acc   string
				Conns int
			} `json:"account_statz"`
		}
	}
	if err := json.Unmarshal(m.Data, &rep); err != nil || len(rep.Data.AccountStatz) != 1 ||
		rep.Data.AccountStatz[0].Acc != "$G" || rep.Data.AccountStatz[0].Conns != 1 {
		t.Fatalf("ACCOUNT.PING.STATZ = %s (%v); want one $G account with 1 connection", m.Data, err)
	}
	if _, err := nc.Request("$SYS.REQ.SERVER.PING", nil, testTimeout); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("SERVER.PING without a system account: %v; want no responders", err)
	}
	mustNATS(t, s.ClientURL(), []string{"Server Statistics"}, "account", "report", "statistics")
	mustNATS(t, s.ClientURL(), []string{"meter", "$G"}, "account", "report", "connections")
}

// TestDropinSysReloadUsers: a reload that takes a user out of the system
// account ends its access at once, on the open connection too.
func TestDropinSysReloadUsers(t *testing.T) {
	a := mustAuth(t, auth.Config{Users: []auth.User{{Name: "admin", Password: "admin"}, {Name: "app", Password: "app"}}})
	opts := server.Options{ServerName: "gw1", Auth: a, SystemAccount: "SYS", SystemUsers: []string{"admin"}}
	s := startWrenWith(t, opts, false)
	nc := connectNATS(t, s, nats.UserInfo("admin", "admin"))
	sysRequest(t, nc, "$SYS.REQ.SERVER.PING")
	opts.Host, opts.Port, opts.SystemUsers = "127.0.0.1", 0, nil
	if err := s.Reload(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request("$SYS.REQ.SERVER.PING", nil, testTimeout); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("PING after admin left the system account: %v; want no responders", err)
	}
}
