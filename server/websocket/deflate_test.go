package websocket

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"
)

// compress is what a permessage-deflate client sends for p: DEFLATE data
// without the trailing empty block.
func compress(t *testing.T, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.DefaultCompression)
	fw.Write(p)
	fw.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

func inflate(t *testing.T, p []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail))))
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

func extHeader(head string) string {
	for _, l := range strings.Split(head, "\r\n") {
		if n, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(n, "Sec-WebSocket-Extensions") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// permessage-deflate is accepted only when the option is on and the client
// offers it with parameters Wren supports; the answer always asks for no
// context takeover both ways.
func TestDeflateNegotiation(t *testing.T) {
	on := startEcho(t, Options{Compression: true})
	off := startEcho(t, Options{})
	both := "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	tests := []struct {
		name  string
		l     *Listener
		offer string
		want  string
	}{
		{"chromium's offer", on, "permessage-deflate; client_max_window_bits", both},
		{"plain offer", on, "permessage-deflate", both},
		{"not offered", on, "", ""},
		{"option off", off, "permessage-deflate; client_max_window_bits", ""},
		{"full window asked", on, "permessage-deflate; server_max_window_bits=15", both + "; server_max_window_bits=15"},
		{"small server window", on, "permessage-deflate; server_max_window_bits=10", ""},
		{"fallback offer", on, "permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits=12", both},
		{"unknown parameter", on, "permessage-deflate; foo=1", ""},
		{"bad window", on, "permessage-deflate; client_max_window_bits=16", ""},
		{"repeated parameter", on, "permessage-deflate; client_no_context_takeover; client_no_context_takeover", ""},
		{"value on a flag", on, "permessage-deflate; server_no_context_takeover=1", ""},
		{"other extension", on, "x-webkit-deflate-frame", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []string
			if tt.offer != "" {
				extra = append(extra, "Sec-WebSocket-Extensions: "+tt.offer)
			}
			_, _, head := dial(t, tt.l, upgradeReq("/", extra...))
			if !strings.HasPrefix(head, "HTTP/1.1 101 ") {
				t.Fatalf("response:\n%s", head)
			}
			if got := extHeader(head); got != tt.want {
				t.Fatalf("extensions %q, want %q", got, tt.want)
			}
		})
	}
	if s := off.Stats(); s.CompressedConns != 0 {
		t.Fatalf("option off: %+v", s)
	}
	if s := on.Stats(); s.CompressedConns != 4 {
		t.Fatalf("compressed connections %d, want 4", s.CompressedConns)
	}
}

// Compressed messages, whole and fragmented, inflate into the stream
// alongside plain ones; the server's long writes come back compressed,
// short ones plain, and a client can inflate them.
func TestDeflateRoundTrip(t *testing.T) {
	l := startEcho(t, Options{Compression: true})
	nc, br, head := dial(t, l, upgradeReq("/", "Sec-WebSocket-Extensions: permessage-deflate"))
	if extHeader(head) == "" {
		t.Fatalf("not negotiated:\n%s", head)
	}
	long := bytes.Repeat([]byte("PUB sensors.temp 5\r\n21.5\r\n"), 200)
	z := compress(t, long)
	first := clientFrame(false, opBinary, z[:len(z)/2])
	first[0] |= 0x40
	nc.Write(first)
	nc.Write(clientFrame(true, opPing, []byte("p")))
	nc.Write(clientFrame(true, opContinuation, z[len(z)/2:]))
	nc.Write(clientFrame(true, opBinary, []byte("PING\r\n")))
	z1 := compress(t, []byte("SUB a 1\r\n"))
	one := clientFrame(true, opText, z1)
	one[0] |= 0x40
	nc.Write(one)

	want := append(append(append([]byte{}, long...), "PING\r\n"...), "SUB a 1\r\n"...)
	var got []byte
	compressedSeen := false
	var outRaw, outZ uint64
	for len(got) < len(want) {
		var h [1]byte
		b, _ := br.Peek(1)
		h[0] = b[0]
		op, p := readFrame(t, br)
		switch {
		case op == opPong:
			continue
		case op != opBinary:
			t.Fatalf("opcode %d", op)
		case h[0]&0x40 != 0:
			compressedSeen = true
			outZ += uint64(len(p))
			p = inflate(t, p)
			outRaw += uint64(len(p))
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo differs: got %d bytes %.80q", len(got), got)
	}
	if !compressedSeen {
		t.Fatal("the server sent nothing compressed")
	}
	// The last message is counted once its end is read, after its bytes.
	deadline := time.Now().Add(testTimeout)
	for l.Stats().Inflated < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s := l.Stats()
	if s.Inflated != 2 || s.Deflated == 0 {
		t.Fatalf("stats %+v; want 2 inflated and some deflated", s)
	}
	// Bytes before and after: as they crossed the wire, and as inflated.
	if s.InCompressed != uint64(len(z)+len(z1)) || s.InInflated != uint64(len(long)+len("SUB a 1\r\n")) {
		t.Fatalf("in: %d compressed, %d inflated; want %d, %d", s.InCompressed, s.InInflated, len(z)+len(z1), len(long)+9)
	}
	if s.OutRaw != outRaw || s.OutCompressed != outZ || outZ >= outRaw {
		t.Fatalf("out: %d raw, %d compressed; the client read %d compressed to %d", s.OutRaw, s.OutCompressed, outZ, outRaw)
	}
}

// A small compressed frame that inflates past MaxMessage is refused with
// 1009 before it is inflated in full; RSV1 without negotiation, or on a
// continuation, is a protocol error, and corrupt DEFLATE data is 1007.
func TestDeflateRefusals(t *testing.T) {
	l := startEcho(t, Options{Compression: true, MaxMessage: 1 << 20})
	offer := "Sec-WebSocket-Extensions: permessage-deflate"
	bomb := compress(t, make([]byte, 64<<20))
	if len(bomb) > 128<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	tests := []struct {
		name  string
		offer string
		frame []byte
		code  uint16
	}{
		{"bomb", offer, clientFrame(true, opBinary, bomb), closeTooBig},
		{"rsv1 not negotiated", "", clientFrame(true, opBinary, compress(t, []byte("hello"))), closeProtocol},
		{"corrupt data", offer, clientFrame(true, opBinary, []byte{0xff, 0xff, 0xff, 0xff}), closeBadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []string
			if tt.offer != "" {
				extra = append(extra, tt.offer)
			}
			nc, br, _ := dial(t, l, upgradeReq("/", extra...))
			tt.frame[0] |= 0x40
			go nc.Write(tt.frame)
			var n int
			for {
				op, p := readFrame(t, br)
				if op == opClose {
					if got := binary.BigEndian.Uint16(p); got != tt.code {
						t.Fatalf("close %d, want %d", got, tt.code)
					}
					break
				}
				n += len(p)
			}
			if n > 1<<20+minDeflate<<10 {
				t.Fatalf("echoed %d bytes before closing", n)
			}
		})
	}
	nc, br, _ := dial(t, l, upgradeReq("/", offer))
	nc.Write(clientFrame(false, opBinary, []byte("a")))
	cont := clientFrame(true, opContinuation, []byte("b"))
	cont[0] |= 0x40
	nc.Write(cont)
	for {
		op, p := readFrame(t, br)
		if op == opClose {
			if binary.BigEndian.Uint16(p) != closeProtocol {
				t.Fatalf("close % x, want 1002", p)
			}
			break
		}
	}
}
