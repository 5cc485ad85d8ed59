package tests

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/wrenmq/wren/server"
)

// versionAtLeast reports whether the dotted version v is at least min,
// comparing numerically and ignoring any pre-release suffix.
func versionAtLeast(v string, min [3]int) bool {
	v, _, _ = strings.Cut(v, "-")
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		if n != min[i] {
			return n > min[i]
		}
	}
	return true
}

func TestCoreVersionAtLeast(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"2.9.0", true}, {"2.10.1", true}, {"2.11.0-dev", true}, {"3.0.0", true},
		{"2.8.9", false}, {"1.99.99", false}, {"2.9", false}, {"x.y.z", false},
	}
	for _, tt := range tests {
		if got := versionAtLeast(tt.v, [3]int{2, 9, 0}); got != tt.want {
			t.Errorf("versionAtLeast(%q, 2.9.0) = %v; want %v", tt.v, got, tt.want)
		}
	}
}

func TestCoreInfo(t *testing.T) {
	s := startCoreServer(t, server.Options{MaxPayload: 4096})
	a := dialRaw(t, s)
	b := dialRaw(t, s)
	info := a.info

	if got, _ := info["server_id"].(string); got == "" || got != s.ID() {
		t.Errorf("server_id = %v; want %q", info["server_id"], s.ID())
	}
	if got, _ := info["version"].(string); !versionAtLeast(got, [3]int{2, 9, 0}) {
		t.Errorf("version = %v; want >= 2.9.0", info["version"])
	}
	wantPort := s.Addr().(*net.TCPAddr).Port
	tests := []struct {
		field string
		want  any
	}{
		{"proto", float64(1)},
		{"headers", true},
		{"max_payload", float64(4096)},
		{"client_ip", "127.0.0.1"},
		{"port", float64(wantPort)},
	}
	for _, tt := range tests {
		if got := info[tt.field]; got != tt.want {
			t.Errorf("INFO %s = %v (%T); want %v", tt.field, got, got, tt.want)
		}
	}
	for _, f := range []string{"server_name", "go", "host"} {
		if _, ok := info[f]; !ok {
			t.Errorf("INFO lacks %s: %v", f, info)
		}
	}
	idA, okA := info["client_id"].(float64)
	idB, okB := b.info["client_id"].(float64)
	if !okA || !okB || idA == 0 || idA == idB {
		t.Errorf("client_id = %v and %v; want distinct non-zero numbers", info["client_id"], b.info["client_id"])
	}
	if _, ok := info["auth_required"]; ok {
		t.Errorf("auth_required present without auth: %v", info["auth_required"])
	}
}

func TestCoreVerbose(t *testing.T) {
	tests := []struct {
		name, connect string
	}{
		{"verbose true", `CONNECT {"verbose":true,"pedantic":false}`},
		{"verbose by default", `CONNECT {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startCoreServer(t, server.Options{})
			rc := dialRaw(t, s)
			steps := []struct{ send, want string }{
				{tt.connect + "\r\n", "+OK"},
				{"SUB foo 1\r\n", "+OK"},
				{"PUB bar 2\r\nhi\r\n", "+OK"},
				{"HPUB bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", "+OK"},
				{"UNSUB 1\r\n", "+OK"},
				{"PING\r\n", "PONG"},
			}
			for _, st := range steps {
				rc.send(st.send)
				if got := rc.readLine(); got != st.want {
					t.Fatalf("after %q got %q; want %q", st.send, got, st.want)
				}
			}
		})
	}
}

func TestCoreCaseInsensitiveVerbs(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	rc.send("connect {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n" +
		"Sub a 1\r\n" +
		"sUB b 2\r\n" +
		"pub a 1\r\nx\r\n" +
		"Hpub b 12 13\r\nNATS/1.0\r\n\r\ny\r\n" +
		"unSub 1\r\n" +
		"PuB a 1\r\nz\r\n" +
		"pong\r\n")
	msgs := rc.collectUntilPong()
	got := rawMsgSummaries(msgs)
	want := []string{"MSG a 1 x", "HMSG b 2 y"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
	rc.send("ping\r\n")
	rc.expect("PONG")
}

// rawMsgSummaries renders messages as "OP subject sid payload".
func rawMsgSummaries(msgs []rawMsg) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprintf("%s %s %s %s", m.op, m.subject, m.sid, m.data))
	}
	return out
}

// Without auth, a client may PING (and more) before CONNECT.
func TestCoreBeforeConnect(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	rc.ping()
	rc.send("SUB early 1\r\nPUB early 2\r\nok\r\n")
	got := rawMsgSummaries(rc.collectUntilPong())
	if want := []string{"MSG early 1 ok"}; !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestCoreFieldSeparators(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	rc.connect("")
	rc.send("SUB\tsep  q\t 1\r\nPUB \t sep\treply   3\r\nabc\r\n")
	msgs := rc.collectUntilPong()
	if len(msgs) != 1 || msgs[0].subject != "sep" || msgs[0].sid != "1" || msgs[0].reply != "reply" || string(msgs[0].data) != "abc" {
		t.Errorf("got %+v; want MSG sep 1 reply abc", msgs)
	}
}

// Frames split across TCP segments, one byte per write.
func TestCoreSplitFrames(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	rc := dialRaw(t, s)
	rc.connect(`"headers":true`)
	stream := "SUB split.* 9\r\n" +
		"PUB split.a 5\r\nhello\r\n" +
		"HPUB split.b r 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n"
	for i := range len(stream) {
		rc.send(stream[i : i+1])
	}
	msgs := rc.collectUntilPong()
	if len(msgs) != 2 {
		t.Fatalf("got %d messages; want 2", len(msgs))
	}
	if got := rawMsgSummaries(msgs[:1]); got[0] != "MSG split.a 9 hello" {
		t.Errorf("first: got %q; want %q", got[0], "MSG split.a 9 hello")
	}
	m := msgs[1]
	if m.op != "HMSG" || m.subject != "split.b" || m.reply != "r" || string(m.header) != "NATS/1.0\r\nBar: Baz\r\n\r\n" || string(m.data) != "Hello NATS!" {
		t.Errorf("second: got %s %s reply %s header %q data %q; want the HPUB back", m.op, m.subject, m.reply, m.header, m.data)
	}
}

// The wire form of no-responders, for a raw client that opted in.
func TestCoreNoRespondersWire(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	tests := []struct {
		name, connect string
		wantMsg       bool
	}{
		{"opted in", `"headers":true,"no_responders":true`, true},
		{"not opted in", `"headers":true`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, s)
			rc.connect(tt.connect)
			rc.send("SUB _INBOX.me 4\r\nPUB no.one _INBOX.me 2\r\nhi\r\n")
			msgs := rc.collectUntilPong()
			if !tt.wantMsg {
				if len(msgs) != 0 {
					t.Errorf("got %+v; want nothing", msgs)
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("got %d messages; want 1", len(msgs))
			}
			m := msgs[0]
			wantHdr := "NATS/1.0 503\r\nNats-Subject: no.one\r\n\r\n"
			if m.op != "HMSG" || m.subject != "_INBOX.me" || m.sid != "4" || string(m.header) != wantHdr || len(m.data) != 0 {
				t.Errorf("got %s %s %s header %q data %q; want HMSG _INBOX.me 4 header %q and no data", m.op, m.subject, m.sid, m.header, m.data, wantHdr)
			}
		})
	}
}

func TestCoreClientAdvertise(t *testing.T) {
	for _, tt := range []struct{ adv, want string }{
		{"gw.example.net", "gw.example.net:"},
		{"gw.example.net:14222", "gw.example.net:14222"},
	} {
		s, err := server.New(server.Options{Host: "127.0.0.1", ClientAdvertise: tt.adv})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		urls := nc.DiscoveredServers()
		nc.Close()
		s.Shutdown(context.Background())
		want := tt.want
		if strings.HasSuffix(want, ":") {
			want += strconv.Itoa(s.Addr().(*net.TCPAddr).Port)
		}
		if len(urls) != 1 || urls[0] != "nats://"+want {
			t.Errorf("client_advertise %q: discovered %v; want [nats://%s]", tt.adv, urls, want)
		}
	}
}
