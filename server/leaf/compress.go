package leaf

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/wrenmq/wren/server/websocket"
)

// Link compression, negotiated as nats-server does for leaf nodes: the
// hub's first INFO names its mode ("compression"); when both sides want
// compression the link answers with an INFO naming its own, and from then
// on both directions are an S2 stream, the hub's second INFO included.
// A hub that sends no mode (an older server, or one configured "not
// supported") or "off" gets plain protocol.

// Compression modes, nats-server's names.
const (
	CompressionOff          = "off"
	CompressionAccept       = "accept"
	CompressionAuto         = "s2_auto"
	CompressionUncompressed = "s2_uncompressed"
	CompressionFast         = "s2_fast"
	CompressionBetter       = "s2_better"
	CompressionBest         = "s2_best"
	compressionNone         = "not supported"
)

// NormalizeCompression maps a configured mode to its nats-server name:
// "" and false-like words are off, "on"/"true" is s2_auto, and a bare
// "fast", "better", "best" or "auto" gets its s2_ prefix.
func NormalizeCompression(m string) (string, error) {
	switch strings.ToLower(m) {
	case "", "off", "disabled", "false":
		return CompressionOff, nil
	case "on", "enabled", "true", "auto", CompressionAuto:
		return CompressionAuto, nil
	case CompressionAccept:
		return CompressionAccept, nil
	case "uncompressed", CompressionUncompressed:
		return CompressionUncompressed, nil
	case "fast", CompressionFast:
		return CompressionFast, nil
	case "better", CompressionBetter:
		return CompressionBetter, nil
	case "best", CompressionBest:
		return CompressionBest, nil
	}
	return "", fmt.Errorf("compression %q: must be off, accept, s2_auto, s2_uncompressed, s2_fast, s2_better or s2_best", m)
}

func compresses(m string) bool { return m != "" && m != CompressionOff && m != compressionNone }

// chooseCompression is the mode a link uses given its own (ours, which
// compresses) and the hub's: the hub's when we only accept, ours
// otherwise; none when the hub is off or does not support it, or both
// only accept. A mode the hub names that is unknown is an error.
func chooseCompression(ours, hub string) (string, error) {
	switch hub {
	case "", compressionNone:
		return compressionNone, nil
	case CompressionOff:
		return CompressionOff, nil
	case CompressionAccept:
		if ours == CompressionAccept {
			return CompressionOff, nil
		}
		return ours, nil
	case CompressionAuto, CompressionUncompressed, CompressionFast, CompressionBetter, CompressionBest:
		if ours != CompressionAccept {
			return ours, nil
		}
		if hub == CompressionAuto {
			return CompressionFast, nil
		}
		return hub, nil
	}
	return "", fmt.Errorf("hub asks for an unknown compression mode %q", hub)
}

// autoCompression picks s2_auto's level from the round trip, with
// nats-server's default thresholds.
func autoCompression(rtt time.Duration) string {
	switch {
	case rtt <= 10*time.Millisecond:
		return CompressionUncompressed
	case rtt <= 50*time.Millisecond:
		return CompressionFast
	case rtt <= 100*time.Millisecond:
		return CompressionBetter
	}
	return CompressionBest
}

// The link's S2 stream is the framing format S2 shares with Snappy: a
// stream identifier chunk, then chunks of a type byte, a 3-byte little
// endian length and a masked CRC-32C of the data, holding an S2 block or
// the data as is. Written here over s2.Encode and s2.Decode (linked for
// stream compression already) rather than S2's stream writer, whose
// encoders for every level would cost the gateway's binary 128 KiB: a
// link compresses at s2_fast's level whichever level it negotiated
// (BenchmarkLeafCompression: on 128-byte telemetry s2_best saves about 4%
// of s2_fast's bytes, at more CPU); the hub's frames of any level are
// read.
const (
	s2Magic         = "\xff\x06\x00\x00S2sTwO"
	snappyMagic     = "\xff\x06\x00\x00sNaPpY"
	chunkCompressed = 0x00
	chunkRaw        = 0x01
	chunkStreamID   = 0xff
	maxS2Block      = 4 << 20 // the largest block S2 streams carry
	s2Block         = 64 << 10
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, crcTable)
	return (c>>15 | c<<17) + 0xa282ead8
}

// s2Conn is a link's connection once compressed: each write is sent as
// whole chunks at once (the broker's write loop writes whole batches),
// reads are decoded chunk by chunk.
type s2Conn struct {
	net.Conn
	raw bool // s2_uncompressed: chunks hold the data as is

	wbuf    []byte
	started bool

	rhdr    [4]byte
	rbuf    []byte // the chunk being read
	dec     []byte // decoded data not yet read
	decBuf  []byte
	sawHead bool
}

func newS2Conn(nc net.Conn, mode string) *s2Conn {
	return &s2Conn{Conn: nc, raw: mode == CompressionUncompressed}
}

func (c *s2Conn) Write(b []byte) (int, error) {
	out := c.wbuf[:0]
	if !c.started {
		out = append(out, s2Magic...)
		c.started = true
	}
	for p := b; len(p) > 0; {
		blk := p[:min(len(p), s2Block)]
		p = p[len(blk):]
		typ, data := byte(chunkRaw), blk
		if !c.raw {
			n := len(out) + 8
			out = slices.Grow(out, 8+s2.MaxEncodedLen(len(blk)))
			enc := s2.Encode(out[n:n+s2.MaxEncodedLen(len(blk))], blk)
			if len(enc) < len(blk) {
				typ, data = chunkCompressed, enc
			}
		}
		crc := maskedCRC(blk)
		l := len(data) + 4
		hdr := [8]byte{typ, byte(l), byte(l >> 8), byte(l >> 16), byte(crc), byte(crc >> 8), byte(crc >> 16), byte(crc >> 24)}
		if typ == chunkCompressed {
			// The block was encoded in place, just after its header.
			n := len(out)
			out = out[:n+8+len(data)]
			copy(out[n:], hdr[:])
		} else {
			out = append(append(out, hdr[:]...), data...)
		}
	}
	c.wbuf = out[:0]
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

var errS2Stream = errors.New("compressed link: corrupt S2 stream from the hub")

func (c *s2Conn) Read(b []byte) (int, error) {
	for len(c.dec) == 0 {
		if _, err := io.ReadFull(c.Conn, c.rhdr[:]); err != nil {
			return 0, err
		}
		typ, l := c.rhdr[0], int(c.rhdr[1])|int(c.rhdr[2])<<8|int(c.rhdr[3])<<16
		if l > s2.MaxEncodedLen(maxS2Block)+4 {
			return 0, errS2Stream
		}
		if cap(c.rbuf) < l {
			c.rbuf = make([]byte, l)
		}
		chunk := c.rbuf[:l]
		if _, err := io.ReadFull(c.Conn, chunk); err != nil {
			return 0, err
		}
		switch {
		case typ == chunkStreamID:
			if m := string(c.rhdr[:]) + string(chunk); m != s2Magic && m != snappyMagic {
				return 0, errS2Stream
			}
			c.sawHead = true
			continue
		case !c.sawHead:
			return 0, errS2Stream
		case typ == chunkCompressed || typ == chunkRaw:
		case typ >= 0x80: // skippable (padding, an index)
			continue
		default:
			return 0, errS2Stream
		}
		if l < 4 {
			return 0, errS2Stream
		}
		crc := uint32(chunk[0]) | uint32(chunk[1])<<8 | uint32(chunk[2])<<16 | uint32(chunk[3])<<24
		data := chunk[4:]
		if typ == chunkCompressed {
			n, err := s2.DecodedLen(data)
			if err != nil || n > maxS2Block {
				return 0, errS2Stream
			}
			if cap(c.decBuf) < n {
				c.decBuf = make([]byte, n)
			}
			if data, err = s2.Decode(c.decBuf[:n], data); err != nil {
				return 0, errS2Stream
			}
		}
		if maskedCRC(data) != crc {
			return 0, errS2Stream
		}
		c.dec = data
	}
	n := copy(b, c.dec)
	c.dec = c.dec[n:]
	return n, nil
}

// compressInfo is the INFO the link answers a compressing hub with.
type compressInfo struct {
	ID          string `json:"server_id"`
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	Headers     bool   `json:"headers"`
	Compression string `json:"compression"`
}

// negotiateCompression runs the compression handshake on nc after the
// hub's first INFO: it returns the mode in use and the connection to use
// from now on (nc itself when uncompressed).
func (l *link) negotiateCompression(nc net.Conn, info *hubInfo, rtt time.Duration) (string, net.Conn, error) {
	ours := l.r.Compression
	if !compresses(ours) {
		if info.Compression == "" {
			return compressionNone, nc, nil
		}
		return CompressionOff, nc, nil
	}
	cm, err := chooseCompression(ours, info.Compression)
	if err != nil || !compresses(cm) {
		return cm, nc, err
	}
	shown := cm
	if cm == CompressionAuto {
		cm = autoCompression(rtt)
	}
	b, _ := json.Marshal(&compressInfo{ID: l.n.srv.ID(), Name: l.n.name, Headers: true, Compression: shown})
	if _, err := nc.Write(append(append([]byte("INFO "), b...), '\r', '\n')); err != nil {
		return "", nil, err
	}
	if wc, ok := nc.(*websocket.Conn); ok {
		// Over a websocket the frames travel inside the S2 stream.
		if err := wc.Rewrap(func(t net.Conn) net.Conn { return newS2Conn(t, cm) }); err != nil {
			return "", nil, err
		}
		return cm, wc, nil
	}
	return cm, newS2Conn(nc, cm), nil
}

var errNoCompressedInfo = errors.New("hub sent no INFO after agreeing on compression")
