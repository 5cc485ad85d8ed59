//go:build linux

package mqtt

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/wrenmq/wren/server"
)

// monitorGet fetches a monitoring path.
func monitorGet(t *testing.T, addr, path string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return b
}

// mqttConns is what /connz, /varz and /metrics say about connections.
type mqttConns struct {
	mqtt        []string // client ids in /connz, sorted
	nats        int      // NATS clients in /connz
	total       int      // /connz num_connections
	varzConns   int
	varzTotal   int64
	metricConns string
}

func readConns(t *testing.T, addr string) mqttConns {
	t.Helper()
	var cz server.Connz
	if err := json.Unmarshal(monitorGet(t, addr, "/connz"), &cz); err != nil {
		t.Fatal(err)
	}
	var got mqttConns
	got.total = cz.NumConnections
	for _, ci := range cz.Connections {
		switch ci.Type {
		case "mqtt":
			if ci.Kind != "Client" || ci.IP != "127.0.0.1" || ci.Port == 0 || ci.MQTTClient == "" {
				t.Errorf("MQTT connection shown as %+v", ci)
			}
			got.mqtt = append(got.mqtt, ci.MQTTClient)
		case "nats":
			got.nats++
		default:
			t.Errorf("connection of type %q: %+v", ci.Type, ci)
		}
	}
	sort.Strings(got.mqtt)
	var vz server.Varz
	if err := json.Unmarshal(monitorGet(t, addr, "/varz"), &vz); err != nil {
		t.Fatal(err)
	}
	got.varzConns, got.varzTotal = vz.Connections, vz.TotalConnections
	for _, line := range strings.Split(string(monitorGet(t, addr, "/metrics")), "\n") {
		if v, ok := strings.CutPrefix(line, "wren_connections "); ok {
			got.metricConns = v
		}
	}
	return got
}

// MQTT clients are connections in monitoring as in nats-server: in /connz
// with type "mqtt" and mqtt_client set to the client id, parked idle ones
// included, and counted in /varz and /metrics. A persistent session whose
// client went away is no connection: it leaves /connz and the counts and
// gives its max_connections slot back, so its client can come back to a
// full server.
func TestMQTTConnectionsInMonitoring(t *testing.T) {
	b := startBroker(t, server.Options{MaxConnections: 4}, Options{})
	ma, err := b.srv.StartMonitoring("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	addr := ma.String()
	b.nats(t)
	rawConnect(t, b, "idle-a", "", "")
	persistent := b.client311(t, "dev-p", false, nil)
	wait(t, persistent.Subscribe("r/#", 1, nil))
	b.client311(t, "dev-c", true, nil)
	waitParked(t, b, "idle-a")

	got := readConns(t, addr)
	if fmt.Sprint(got.mqtt) != "[dev-c dev-p idle-a]" || got.nats != 1 || got.total != 4 {
		t.Fatalf("/connz: MQTT %v, %d NATS, num_connections %d; want [dev-c dev-p idle-a], 1, 4", got.mqtt, got.nats, got.total)
	}
	if got.varzConns != 4 || got.varzTotal != 4 || got.metricConns != "4" {
		t.Fatalf("/varz connections %d total %d, /metrics wren_connections %s; want 4, 4, 4", got.varzConns, got.varzTotal, got.metricConns)
	}

	// The server is full: a fifth client is refused.
	o := paho.NewClientOptions().AddBroker(b.mqttURL()).SetClientID("extra").SetAutoReconnect(false).
		SetProtocolVersion(4).SetConnectTimeout(testTimeout)
	if tok := paho.NewClient(o).Connect(); !tok.WaitTimeout(testTimeout) || tok.Error() == nil {
		t.Fatal("a fifth connection was accepted with max_connections 4")
	}

	persistent.Disconnect(100)
	deadline := time.Now().Add(testTimeout)
	for {
		// The count, the list and the metric are read one after another,
		// so wait until all three have seen the client go.
		got = readConns(t, addr)
		if got.varzConns == 3 && fmt.Sprint(got.mqtt) == "[dev-c idle-a]" && got.total == 3 && got.metricConns == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offline session: /varz connections %d, /connz %v (%d), /metrics %s; want 3, [dev-c idle-a], 3, 3", got.varzConns, got.mqtt, got.total, got.metricConns)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got.varzTotal != 4 {
		t.Fatalf("offline session: /varz total_connections %d; want 4", got.varzTotal)
	}
	if st := b.l.Stats(); st.Sessions != 3 {
		t.Fatalf("%d sessions; want 3 (the persistent one waits)", st.Sessions)
	}

	// Its client comes back to the full server and finds its session.
	ib := newInbox()
	back := b.client311(t, "dev-p", false, func(o *paho.ClientOptions) { o.SetDefaultPublishHandler(ib.handler) })
	wait(t, back.Publish("r/x", 1, false, "hello"))
	if m := ib.waitN(t, 1)[0]; string(m.Payload()) != "hello" {
		t.Fatalf("got %s", describe(m))
	}
	got = readConns(t, addr)
	if fmt.Sprint(got.mqtt) != "[dev-c dev-p idle-a]" || got.varzConns != 4 || got.varzTotal != 5 {
		t.Fatalf("back: /connz %v, /varz %d total %d; want [dev-c dev-p idle-a], 4, 5", got.mqtt, got.varzConns, got.varzTotal)
	}
}
