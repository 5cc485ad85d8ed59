package jetstore

import (
	"testing"
	"time"
)

func TestParseAckSubject(t *testing.T) {
	tests := []struct {
		subject              string
		wstream, wcons       string
		wdeliv, wsseq, wcseq uint64
		wok                  bool
	}{
		{"$JS.ACK.ORDERS.proc.2.17.40.1700000000000000000.5", "ORDERS", "proc", 2, 17, 40, true},
		{"$JS.ACK.S.C.1.1.1.0.0", "S", "C", 1, 1, 1, true},
		{"$JS.ACK.S.C.1.1.1.0", "", "", 0, 0, 0, false},     // 8 tokens
		{"$JS.ACK.S.C.1.1.1.0.0.9", "", "", 0, 0, 0, false}, // 10 tokens
		{"$JS.ACK.S.C.x.1.1.0.0", "", "", 0, 0, 0, false},   // not a number
		{"$JS.ACK.S.C.1.0.1.0.0", "", "", 0, 0, 0, false},   // stream seq 0
		{"$JS.ACK..C.1.1.1.0.0", "", "", 0, 0, 0, false},    // empty stream
		{"$JS.NAK.S.C.1.1.1.0.0", "", "", 0, 0, 0, false},   // not an ack subject
		{"$JS.ACK.S.C.1.99999999999999999999.1.0.0", "", "", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			s, c, d, ss, cs, ok := parseAckSubject(tt.subject)
			if ok != tt.wok || s != tt.wstream || c != tt.wcons || d != tt.wdeliv || ss != tt.wsseq || cs != tt.wcseq {
				t.Errorf("parseAckSubject(%q) = %q, %q, %d, %d, %d, %v; want %q, %q, %d, %d, %d, %v",
					tt.subject, s, c, d, ss, cs, ok, tt.wstream, tt.wcons, tt.wdeliv, tt.wsseq, tt.wcseq, tt.wok)
			}
		})
	}
}

func TestParseAckBody(t *testing.T) {
	tests := []struct {
		body    string
		wkind   ackKind
		wdelay  time.Duration
		wreason string
		wbatch  int
		wok     bool
	}{
		{"", ackAck, 0, "", 0, true},
		{"+ACK", ackAck, 0, "", 0, true},
		{"+OK", ackAck, 0, "", 0, true},
		{"-NAK", ackNak, 0, "", 0, true},
		{`-NAK {"delay":5000000000}`, ackNak, 5 * time.Second, "", 0, true},
		{"-NAK 250ms", ackNak, 250 * time.Millisecond, "", 0, true},
		{"-NAK nonsense", ackNak, 0, "", 0, true},
		{"+WPI", ackProgress, 0, "", 0, true},
		{"+TERM", ackTerm, 0, "", 0, true},
		{"+TERM bad payload", ackTerm, 0, "bad payload", 0, true},
		{"+NXT", ackNext, 0, "", 1, true},
		{`+NXT {"batch":10}`, ackNext, 0, "", 10, true},
		{"+NXT 3", ackNext, 0, "", 3, true},
		{"  +ACK \r\n", ackAck, 0, "", 0, true},
		{"hello", 0, 0, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			var a ackReq
			ok := parseAckBody([]byte(tt.body), &a)
			if ok != tt.wok || (ok && (a.kind != tt.wkind || a.delay != tt.wdelay || a.reason != tt.wreason || a.batch != tt.wbatch)) {
				t.Errorf("parseAckBody(%q) = %+v, %v; want kind %d delay %v reason %q batch %d, %v",
					tt.body, a, ok, tt.wkind, tt.wdelay, tt.wreason, tt.wbatch, tt.wok)
			}
		})
	}
}

func TestAckWaitFor(t *testing.T) {
	cfg := ConsumerConfig{AckWait: 30 * time.Second, BackOff: []time.Duration{time.Second, 5 * time.Second, time.Minute}}
	for _, tt := range []struct {
		n    uint64
		want time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 5 * time.Second}, {3, time.Minute}, {9, time.Minute}} {
		if got := cfg.ackWaitFor(tt.n); got != tt.want {
			t.Errorf("ackWaitFor(%d) = %v; want %v", tt.n, got, tt.want)
		}
	}
	plain := ConsumerConfig{AckWait: 2 * time.Second}
	if got := plain.ackWaitFor(4); got != 2*time.Second {
		t.Errorf("ackWaitFor without backoff = %v; want 2s", got)
	}
}

func BenchmarkParseAck(b *testing.B) {
	subj := "$JS.ACK.ORDERS.proc.1.123456.123456.1700000000000000000.42"
	b.ReportAllocs()
	for b.Loop() {
		var a ackReq
		if _, _, _, _, _, ok := parseAckSubject(subj); !ok || !parseAckBody([]byte("+ACK"), &a) {
			b.Fatal("parse")
		}
	}
}
