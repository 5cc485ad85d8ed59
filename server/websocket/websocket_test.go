package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

const testTimeout = 10 * time.Second

// echo serves a connection by echoing what it reads.
func echo(c net.Conn) {
	defer c.Close()
	io.Copy(c, c)
}

func startEcho(t *testing.T, o Options) *Listener {
	t.Helper()
	o.Host, o.Port = "127.0.0.1", 0
	if o.NATS == nil {
		o.NATS = echo
	}
	l := New(o)
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

func upgradeReq(path string, extra ...string) string {
	h := "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n"
}

// dial upgrades and returns the connection and the response head.
func dial(t *testing.T, l *Listener, req string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(testTimeout))
	nc.Write([]byte(req))
	br := bufio.NewReader(nc)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil || line == "\r\n" {
			break
		}
	}
	return nc, br, head.String()
}

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i&3])
	}
	return b
}

// readFrame reads one server frame.
func readFrame(t *testing.T, br *bufio.Reader) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if h[1]&0x80 != 0 {
		t.Fatal("server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0f, p
}

// The handshake answers with the accept key of RFC 6455's example, and the
// stream carries bytes across frame boundaries both ways; pings are
// answered; a close is echoed and ends the stream.
func TestUpgradeAndFrames(t *testing.T) {
	l := startEcho(t, Options{})
	nc, br, head := dial(t, l, upgradeReq("/"))
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Fatalf("response head:\n%s", head)
	}
	nc.Write(clientFrame(false, opText, []byte("hel")))
	nc.Write(clientFrame(true, opContinuation, []byte("lo ")))
	nc.Write(clientFrame(true, opPing, []byte("p1")))
	big := bytes.Repeat([]byte("x"), 70000)
	nc.Write(clientFrame(true, opBinary, big))
	var got []byte
	pong := false
	for len(got) < 6+len(big) {
		op, p := readFrame(t, br)
		switch op {
		case opBinary:
			got = append(got, p...)
		case opPong:
			if string(p) != "p1" {
				t.Fatalf("pong %q", p)
			}
			pong = true
		default:
			t.Fatalf("unexpected opcode %d", op)
		}
	}
	if !bytes.Equal(got, append([]byte("hello "), big...)) || !pong {
		t.Fatalf("echo of %d bytes wrong (pong %v)", len(got), pong)
	}
	nc.Write(clientFrame(true, opClose, []byte{0x03, 0xe8}))
	if op, p := readFrame(t, br); op != opClose || binary.BigEndian.Uint16(p) != 1000 {
		t.Fatalf("close answered with %d % x", op, p)
	}
}

// An unmasked client frame is a protocol error: close 1002.
func TestUnmaskedFrameRefused(t *testing.T) {
	l := startEcho(t, Options{})
	nc, br, _ := dial(t, l, upgradeReq("/"))
	nc.Write([]byte{0x82, 0x01, 'x'})
	if op, p := readFrame(t, br); op != opClose || binary.BigEndian.Uint16(p) != 1002 {
		t.Fatalf("got %d % x; want close 1002", op, p)
	}
}

// Refused upgrades get an HTTP status, not a hang.
func TestRefusals(t *testing.T) {
	l := startEcho(t, Options{AllowedOrigins: []string{"https://ok.example.com"}, MQTT: echo})
	tests := []struct {
		name, req, status string
	}{
		{"not an upgrade", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "426"},
		{"wrong version", strings.Replace(upgradeReq("/"), "Version: 13", "Version: 8", 1), "426"},
		{"bad key", strings.Replace(upgradeReq("/"), testKey, "short", 1), "400"},
		{"POST", strings.Replace(upgradeReq("/"), "GET", "POST", 1), "405"},
		{"origin", upgradeReq("/", "Origin: https://evil.example.com"), "403"},
		{"mqtt without subprotocol", upgradeReq("/mqtt"), "400"},
		{"huge head", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 10000) + "\r\n\r\n", "431"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, head := dial(t, l, tt.req)
			if !strings.HasPrefix(head, "HTTP/1.1 "+tt.status) {
				t.Fatalf("response:\n%s", head)
			}
		})
	}
	_, _, head := dial(t, l, upgradeReq("/", "Origin: https://OK.example.com/"))
	if !strings.HasPrefix(head, "HTTP/1.1 101") {
		t.Fatalf("allowed origin refused:\n%s", head)
	}
	_, _, head = dial(t, l, upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqttv3.1, mqtt"))
	if !strings.HasPrefix(head, "HTTP/1.1 101") || !strings.Contains(head, "Sec-WebSocket-Protocol: mqtt\r\n") {
		t.Fatalf("mqtt upgrade:\n%s", head)
	}
}
