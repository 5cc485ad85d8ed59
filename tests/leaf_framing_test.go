package tests

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server/leaf"
)

// A burst of messages from the hub of mixed sizes, with replies and
// headers, arrives whole at a gateway subscriber: each with its own
// subject, reply and payload, however the protocol lines fall across the
// link's read buffer.
func TestLeafBurstFromHubKeepsSubjects(t *testing.T) {
	hub := startHub(t, hubOpts(t, "hub", ""))
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{hubLeafURL(t, hub)}})
	gw.waitLinked(t, 1)
	local := connectNATS(t, gw.srv)
	sub, _ := local.SubscribeSync("burst.>")
	flushNATS(t, local)
	waitHubInterest(t, hub, "burst.>")
	remote := connectHub(t, hub)
	const n = 3000
	for i := 0; i < n; i++ {
		subject := fmt.Sprintf("burst.%d.%s", i, strings.Repeat("s", i%37+1))
		reply := fmt.Sprintf("reply.%d.%s", i, strings.Repeat("r", i%53+1))
		data := []byte(fmt.Sprintf("%d|%s", i, strings.Repeat("x", (i*7919)%3000)))
		if i%2 == 0 {
			if err := remote.PublishRequest(subject, reply, data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		m := &nats.Msg{Subject: subject, Reply: reply, Data: data, Header: nats.Header{}}
		m.Header.Set("Seq", fmt.Sprint(i))
		if err := remote.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	flushNATS(t, remote)
	for i := 0; i < n; i++ {
		m, err := sub.NextMsg(testTimeout)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, n, err)
		}
		wantSubj := fmt.Sprintf("burst.%d.%s", i, strings.Repeat("s", i%37+1))
		wantReply := fmt.Sprintf("reply.%d.%s", i, strings.Repeat("r", i%53+1))
		wantData := fmt.Sprintf("%d|%s", i, strings.Repeat("x", (i*7919)%3000))
		if m.Subject != wantSubj || m.Reply != wantReply || string(m.Data) != wantData {
			t.Fatalf("message %d arrived as %q reply %q with %d bytes (%.20q); want %q reply %q with %d bytes",
				i, m.Subject, m.Reply, len(m.Data), m.Data, wantSubj, wantReply, len(wantData))
		}
		if i%2 == 1 && m.Header.Get("Seq") != fmt.Sprint(i) {
			t.Fatalf("message %d header %v", i, m.Header)
		}
	}
}
