package jetstore

import (
	"strconv"
	"strings"
	"testing"
)

// splitAckSubject is the generic reading of a v1 ack subject that
// parseAckSubject does in one pass: nine dot-separated tokens, the names
// not empty, the counts decimal numbers of at most 19 digits, the stream
// sequence not 0.
func splitAckSubject(subject string) (stream, consumer string, deliveries, sseq, cseq uint64, ok bool) {
	toks := strings.Split(subject, ".")
	if len(toks) != 9 || toks[0] != "$JS" || toks[1] != "ACK" || toks[2] == "" || toks[3] == "" {
		return "", "", 0, 0, 0, false
	}
	var n [3]uint64
	for i := range n {
		t := toks[4+i]
		v, err := strconv.ParseUint(t, 10, 64)
		if err != nil || len(t) > 19 || strings.ContainsAny(t, "+-_") {
			return "", "", 0, 0, 0, false
		}
		n[i] = v
	}
	if n[1] == 0 {
		return "", "", 0, 0, 0, false
	}
	return toks[2], toks[3], n[0], n[1], n[2], true
}

func FuzzParseAckSubject(f *testing.F) {
	for _, s := range []string{
		"$JS.ACK.ORDERS.proc.2.123456.7.1700000000000000000.42",
		"$JS.ACK.S.C.1.1.1.1.0",
		"$JS.ACK.S.C.1.0.1.1.0",
		"$JS.ACK.S..1.1.1.1.0",
		"$JS.ACK.S.C.1.1.1.1",
		"$JS.ACK.S.C.1.1.1.1.0.9",
		"$JS.ACK.S.C.x.1.1.1.0",
		"$JS.ACK.S.C.9999999999999999999.1.1.1.0",
		"$JS.ACK.S.C.18446744073709551615.1.1.1.0",
		"$JS.ACK.dom.hash.S.C.1.1.1.1.0.tok",
		"$JS.ACK.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		s1, c1, d1, q1, k1, ok1 := parseAckSubject(subject)
		s2, c2, d2, q2, k2, ok2 := splitAckSubject(subject)
		if ok1 != ok2 || s1 != s2 || c1 != c2 || d1 != d2 || q1 != q2 || k1 != k2 {
			t.Fatalf("%q: parseAckSubject %q %q %d %d %d %v; split %q %q %d %d %d %v",
				subject, s1, c1, d1, q1, k1, ok1, s2, c2, d2, q2, k2, ok2)
		}
	})
}
