package jetstore

import "testing"

// Ack subjects are built on a prefix made once, into a buffer reused for
// every delivery: the v1 form, nine tokens, and no allocation.
func TestAckSubject(t *testing.T) {
	c := &consumer{st: &stream{name: "ORDERS"}, name: "proc"}
	got := c.ackSubject(2, 123456, 7, 1700000000000000000, 42)
	const want = "$JS.ACK.ORDERS.proc.2.123456.7.1700000000000000000.42"
	if got != want {
		t.Fatalf("ackSubject = %q; want %q", got, want)
	}
	stream, name, deliveries, sseq, cseq, ok := parseAckSubject(got)
	if !ok || stream != "ORDERS" || name != "proc" || deliveries != 2 || sseq != 123456 || cseq != 7 {
		t.Fatalf("parseAckSubject(%q) = %q %q %d %d %d %v", got, stream, name, deliveries, sseq, cseq, ok)
	}
	if got := c.ackSubject(1, 9, 8, 5, 0); got != "$JS.ACK.ORDERS.proc.1.9.8.5.0" {
		t.Fatalf("second ackSubject = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { c.ackSubject(1, 123456, 123456, 1700000000000000000, 99999) }); n != 0 {
		t.Errorf("%v allocations per ack subject; want 0", n)
	}
}
