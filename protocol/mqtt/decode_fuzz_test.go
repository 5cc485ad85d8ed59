package mqtt

import (
	"bytes"
	"testing"
)

// FuzzDecode: no input panics; whatever frames and decodes encodes back to
// the same bytes and decodes again to the same packet; nothing decoded
// holds more than the packet's own bytes.
func FuzzDecode(f *testing.F) {
	for _, g := range golden {
		f.Add(g.raw, g.v == V5)
	}
	f.Fuzz(func(t *testing.T, in []byte, v5 bool) {
		v := V311
		if v5 {
			v = V5
		}
		n, err := Frame(in, 1<<16)
		if err != nil || n == 0 {
			return
		}
		pkt := in[:n]
		p, err := Decode(pkt, v)
		if err != nil {
			return
		}
		if c, ok := p.(*Connect); ok {
			v = c.Version
		}
		out := p.Append(nil, v)
		if !bytes.Equal(out, pkt) {
			t.Fatalf("v%d %T: % x re-encodes as % x", v, p, pkt, out)
		}
		if s, ok := p.(*Subscribe); ok && cap(s.Topics) > len(pkt) {
			t.Fatalf("subscribe of %d bytes holds room for %d filters", len(pkt), cap(s.Topics))
		}
	})
}
