package mqtt

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
)

// rawConnect opens a 3.1.1 connection with a will, by hand, and returns it
// after the CONNACK.
func rawConnect(t *testing.T, b *testBroker, id, willTopic, willMsg string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", b.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	cp := &mqtt.Connect{Version: mqtt.V311, CleanStart: true, KeepAlive: 30, ClientID: []byte(id)}
	if willTopic != "" {
		cp.Will = &mqtt.Will{QoS: 1, Topic: []byte(willTopic), Payload: []byte(willMsg)}
	}
	nc.Write(cp.Append(nil, mqtt.V311))
	p := readPacket(t, nc, mqtt.V311)
	if ca, ok := p.(*mqtt.Connack); !ok || ca.Code != 0 {
		t.Fatalf("CONNACK: %#v", p)
	}
	return nc
}

// readPacket reads one packet.
func readPacket(t testing.TB, nc net.Conn, v byte) mqtt.Packet {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(testTimeout))
	var buf []byte
	one := make([]byte, 1)
	for {
		if n, err := mqtt.Frame(buf, 1<<24); err != nil {
			t.Fatal(err)
		} else if n > 0 {
			p, err := mqtt.Decode(buf[:n], v)
			if err != nil {
				t.Fatalf("decode % x: %v", buf[:n], err)
			}
			return p
		}
		if _, err := io.ReadFull(nc, one); err != nil {
			t.Fatalf("read: %v (have % x)", err, buf)
		}
		buf = append(buf, one[0])
	}
}

// expectClosed checks that the server closes nc, after sending want (nil:
// nothing at all).
func expectClosed(t *testing.T, nc net.Conn, want []byte) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("connection not closed: %v (read % x)", err, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("server sent % x before closing; want % x", got, want)
	}
}

func dialRaw(t testing.TB, b *testBroker) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", b.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// Malformed packets get the protocol's answer: a 3.1.1 client is just
// disconnected, an MQTT 5 client told why first; nothing panics.
func TestMalformedAnswers(t *testing.T) {
	b := startBroker(t, server0(), Options{MaxPacketSize: 1024})
	v5connect := (&mqtt.Connect{Version: mqtt.V5, CleanStart: true, ClientID: []byte("m5")}).Append(nil, mqtt.V5)
	v3connect := (&mqtt.Connect{Version: mqtt.V311, CleanStart: true, ClientID: []byte("m3")}).Append(nil, mqtt.V311)
	connack5 := (&mqtt.Connack{}).Append(nil, mqtt.V5)
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"not a CONNECT first", []byte{0xC0, 0}, nil},
		{"protocol level 3", []byte{0x10, 14, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 0, 0, 0}, []byte{0x20, 2, 0, 1}},
		{"3.1.1 reserved flags on SUBSCRIBE", append(append([]byte{}, v3connect...), 0x80, 6, 0, 1, 0, 1, 'a', 0), []byte{0x20, 2, 0, 0}},
		{"5 bad PUBLISH", append(append([]byte{}, v5connect...), 0x36, 3, 0, 1, 't'), append(append([]byte{}, connack5...), 0xE0, 1, 0x81)},
		{"5 too large", append(append([]byte{}, v5connect...), 0x30, 0xff, 0x7f), append(append([]byte{}, connack5...), 0xE0, 1, 0x95)},
		{"5 wildcard in topic name", append(append([]byte{}, v5connect...), 0x30, 6, 0, 3, 'a', '/', '+', 0), append(append([]byte{}, connack5...), 0xE0, 1, 0x90)},
		{"5 second CONNECT", append(append([]byte{}, v5connect...), v5connect...), append(append([]byte{}, connack5...), 0xE0, 1, 0x82)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := dialRaw(t, b)
			nc.Write(tt.in)
			got := readAllUntilClose(t, nc)
			// The CONNACK carries properties we do not pin here: compare
			// the packet types and the final reason.
			if !sameShape(got, tt.want) {
				t.Fatalf("got % x; want % x", got, tt.want)
			}
		})
	}
}

func readAllUntilClose(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("connection not closed: %v (read % x)", err, got)
	}
	return got
}

// sameShape compares two packet streams by packet type and, for the last
// packet, its bytes.
func sameShape(got, want []byte) bool {
	split := func(b []byte) [][]byte {
		var out [][]byte
		for len(b) > 0 {
			n, err := mqtt.Frame(b, 1<<24)
			if err != nil || n == 0 {
				return append(out, b)
			}
			out = append(out, b[:n])
			b = b[n:]
		}
		return out
	}
	g, w := split(got), split(want)
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i][0] != w[i][0] {
			return false
		}
	}
	return len(g) == 0 || g[len(g)-1][0] == 0x20 || bytes.Equal(g[len(g)-1], w[len(w)-1])
}

// mqttConnect5 builds an MQTT 5 CONNECT.
type mqttConnect5 struct{ id, user, pass string }

func (c *mqttConnect5) bytes() []byte {
	cp := &mqtt.Connect{Version: mqtt.V5, CleanStart: true, ClientID: []byte(c.id)}
	if c.user != "" {
		cp.UsernameFlag, cp.Username = true, []byte(c.user)
	}
	if c.pass != "" {
		cp.PasswordFlag, cp.Password = true, []byte(c.pass)
	}
	return cp.Append(nil, mqtt.V5)
}
