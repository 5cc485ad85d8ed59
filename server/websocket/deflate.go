package websocket

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"
)

// deflateResponse is the extension answer to an accepted
// permessage-deflate offer (RFC 7692): neither side keeps its compression
// context between messages, so a connection holds no window while idle.
const deflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// minDeflate is the smallest message the server compresses; shorter ones
// (PING, PONG, +OK, short MSGs) are sent plain, as RFC 7692 allows.
const minDeflate = 64

// deflateTail ends every compressed message before inflating: the empty
// stored block the sender removed (RFC 7692 section 7.2.2), then a final
// empty stored block so that the inflater reports the message's end.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// negotiateDeflate picks the first permessage-deflate offer in the
// Sec-WebSocket-Extensions values whose parameters Wren supports, and
// returns the parameters to answer with, or "" to decline them all (the
// client then sends plain frames). An offer with an unknown, repeated or
// malformed parameter, or one asking the server for a window below 2^15
// bytes (compress/flate always uses 32 KB), is declined.
func negotiateDeflate(offers []string) string {
	for _, v := range offers {
		for _, offer := range strings.Split(v, ",") {
			params := strings.Split(offer, ";")
			if !strings.EqualFold(strings.TrimSpace(params[0]), "permessage-deflate") {
				continue
			}
			if resp, ok := deflateOffer(params[1:]); ok {
				return resp
			}
		}
	}
	return ""
}

// deflateOffer checks one offer's parameters.
func deflateOffer(params []string) (string, bool) {
	seen := map[string]bool{}
	resp := deflateResponse
	for _, p := range params {
		name, value, hasValue := strings.Cut(strings.TrimSpace(p), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if seen[name] {
			return "", false
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if hasValue {
				return "", false
			}
		case "client_max_window_bits":
			// Any window the client picks inflates; no answer needed.
			if hasValue && !windowBits(value) {
				return "", false
			}
		case "server_max_window_bits":
			if !hasValue || !windowBits(value) || value != "15" {
				return "", false
			}
			resp += "; server_max_window_bits=15"
		default:
			return "", false
		}
	}
	return resp, true
}

// windowBits reports whether v is a window size RFC 7692 allows: 8 to 15,
// in decimal without leading zeros.
func windowBits(v string) bool {
	switch v {
	case "8", "9", "10", "11", "12", "13", "14", "15":
		return true
	}
	return false
}

// Compressors and inflaters are shared by all connections and held only
// while a message is deflated or inflated: with no context takeover a
// connection keeps nothing between messages, and a flate writer is too
// large (about 1 MB) to keep per connection on a gateway.
var (
	flateWriters sync.Pool // *flate.Writer
	flateReaders sync.Pool // io.ReadCloser, a flate.Resetter
)

// deflateMessage appends the compressed form of p to dst, without the
// trailing empty block (RFC 7692 section 7.2.1).
func deflateMessage(dst *bytes.Buffer, p []byte) error {
	fw, _ := flateWriters.Get().(*flate.Writer)
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(dst, flate.BestSpeed); err != nil {
			return err
		}
	} else {
		fw.Reset(dst)
	}
	defer flateWriters.Put(fw)
	if _, err := fw.Write(p); err != nil {
		return err
	}
	if err := fw.Flush(); err != nil {
		return err
	}
	if b := dst.Bytes(); bytes.HasSuffix(b, deflateTail[:4]) {
		dst.Truncate(len(b) - 4)
	}
	return nil
}

// getInflater returns an inflater reading src.
func getInflater(src io.Reader) io.ReadCloser {
	if fr, _ := flateReaders.Get().(io.ReadCloser); fr != nil {
		fr.(flate.Resetter).Reset(src, nil)
		return fr
	}
	return flate.NewReader(src)
}
