package leaf

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
)

// The mode a link uses follows nats-server's rules for its own mode and
// the one the hub's INFO names.
func TestChooseCompression(t *testing.T) {
	tests := []struct{ ours, hub, want string }{
		{CompressionFast, "", compressionNone},
		{CompressionFast, compressionNone, compressionNone},
		{CompressionFast, CompressionOff, CompressionOff},
		{CompressionAccept, CompressionAccept, CompressionOff},
		{CompressionBest, CompressionAccept, CompressionBest},
		{CompressionAccept, CompressionAuto, CompressionFast},
		{CompressionAccept, CompressionBetter, CompressionBetter},
		{CompressionAuto, CompressionFast, CompressionAuto},
		{CompressionUncompressed, CompressionBest, CompressionUncompressed},
	}
	for _, tt := range tests {
		if got, err := chooseCompression(tt.ours, tt.hub); err != nil || got != tt.want {
			t.Errorf("chooseCompression(%q, %q) = %q, %v; want %q", tt.ours, tt.hub, got, err, tt.want)
		}
	}
	if _, err := chooseCompression(CompressionFast, "zstd"); err == nil {
		t.Error("an unknown hub mode is not an error")
	}
	for rtt, want := range map[time.Duration]string{time.Millisecond: CompressionUncompressed, 30 * time.Millisecond: CompressionFast,
		80 * time.Millisecond: CompressionBetter, 600 * time.Millisecond: CompressionBest} {
		if got := autoCompression(rtt); got != want {
			t.Errorf("autoCompression(%v) = %q; want %q", rtt, got, want)
		}
	}
	for in, want := range map[string]string{"": CompressionOff, "on": CompressionAuto, "FAST": CompressionFast, "s2_best": CompressionBest, "accept": CompressionAccept} {
		if got, err := NormalizeCompression(in); err != nil || got != want {
			t.Errorf("NormalizeCompression(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeCompression("lz4"); err == nil {
		t.Error("NormalizeCompression(lz4) is not an error")
	}
}

// The link's S2 framing is read by S2's own stream reader, and it reads
// what S2's stream writer writes at any level; a corrupted chunk is an
// error, never wrong data.
func TestS2ConnFraming(t *testing.T) {
	var data []byte
	for i := 0; len(data) < 300<<10; i++ {
		data = append(data, fmt.Sprintf(`{"seq":%d,"v":%d}`, i, i%7)...)
	}
	for _, mode := range []string{CompressionFast, CompressionUncompressed} {
		a, b := net.Pipe()
		go func() {
			c := newS2Conn(a, mode)
			c.Write(data[:1000])
			c.Write(data[1000:])
			a.Close()
		}()
		got, err := io.ReadAll(s2.NewReader(b))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: s2.Reader read %d of %d bytes: %v", mode, len(got), len(data), err)
		}
	}
	for _, opt := range []s2.WriterOption{s2.WriterBestCompression(), s2.WriterBetterCompression(), s2.WriterUncompressed()} {
		var buf bytes.Buffer
		w := s2.NewWriter(&buf, opt)
		w.Write(data)
		w.Close()
		a, b := net.Pipe()
		go func() { a.Write(buf.Bytes()); a.Close() }()
		got, err := io.ReadAll(newS2Conn(b, CompressionFast))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d of %d bytes from s2.Writer: %v", len(got), len(data), err)
		}
		// A flipped byte in the first block is refused.
		bad := bytes.Clone(buf.Bytes())
		bad[len(s2Magic)+20] ^= 0x55
		a, b = net.Pipe()
		go func() { a.Write(bad); a.Close() }()
		if got, err := io.ReadAll(newS2Conn(b, CompressionFast)); err == nil {
			t.Fatalf("a corrupted stream read as %d bytes without an error", len(got))
		}
	}
}
