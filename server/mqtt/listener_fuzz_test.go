package mqtt

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
)

// FuzzListener feeds a connection a valid CONNECT (3.1.1 or 5) and then
// arbitrary bytes: nothing panics, the connection is answered or closed,
// and the broker goes on serving other clients.
func FuzzListener(f *testing.F) {
	for _, g := range [][]byte{
		(&mqtt.Subscribe{ID: 1, Topics: []mqtt.Subscription{{Filter: []byte("a/#"), Opts: 2}}}).Append(nil, mqtt.V5),
		(&mqtt.Publish{QoS: 2, ID: 3, Topic: []byte("a/b"), Retain: true, Payload: []byte("x")}).Append(nil, mqtt.V5),
		(&mqtt.Publish{Topic: []byte(""), Props: mqtt.Props{}.AddNum(mqtt.PropTopicAlias, 1)}).Append(nil, mqtt.V5),
		(&mqtt.Ack{Kind: mqtt.PUBREL, ID: 3}).Append(nil, mqtt.V5),
		{0xE0, 0},
		{0x30, 0xff, 0xff, 0xff, 0x7f},
	} {
		f.Add(g, true)
		f.Add(g, false)
	}
	b := startBroker(f, server0(), Options{MaxPacketSize: 4096})
	f.Fuzz(func(t *testing.T, in []byte, v5 bool) {
		v := mqtt.V311
		if v5 {
			v = mqtt.V5
		}
		cs, ss := net.Pipe()
		b.l.Serve(ss)
		defer cs.Close()
		go io.Copy(io.Discard, cs)
		cs.SetWriteDeadline(time.Now().Add(2 * time.Second))
		cs.Write((&mqtt.Connect{Version: v, CleanStart: true, ClientID: []byte("fz")}).Append(nil, v))
		cs.Write(in)
		cs.Write((&mqtt.Simple{Kind: mqtt.PINGREQ}).Append(nil, v))

		// Others are still served.
		nc := dialRaw(t, b)
		nc.Write((&mqtt.Connect{Version: mqtt.V311, CleanStart: true, ClientID: []byte("after")}).Append(nil, mqtt.V311))
		if _, ok := readPacket(t, nc, mqtt.V311).(*mqtt.Connack); !ok {
			t.Fatal("the broker stopped answering")
		}
		nc.Close()
	})
}
