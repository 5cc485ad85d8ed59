//go:build !race

package server

import (
	"strings"
	"testing"
)

// A batch of deliveries to a socket client allocates nothing per message
// once the buffers have grown: at most the caller's closure.
func TestDeliverBatchAllocs(t *testing.T) {
	s := loopServer(t, Options{})
	ip := s.InProc("alloc")
	sub := loopClient(t, s, "")
	send(t, sub, "SUB _INBOX.req 1\r\n")
	data := []byte("hello")
	const n = 100
	batch := func() {
		sub.out.reset()
		ip.DeliverBatch(func(deliver func(route, subject, reply string, header, data []byte) error) {
			for range n {
				deliver("_INBOX.req", "orders.1", "$JS.ACK.S.C.1.1.1.0.0", nil, data)
			}
		})
	}
	batch()
	if got := strings.Count(string(sub.out.bytes()), "MSG orders.1 1 $JS.ACK.S.C.1.1.1.0.0 5\r\nhello\r\n"); got != n {
		t.Fatalf("subscriber got %d messages; want %d", got, n)
	}
	if a := testing.AllocsPerRun(50, batch); a > 1 {
		t.Errorf("%v allocations per batch of %d; want at most 1", a, n)
	}
}
