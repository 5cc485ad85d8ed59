package server

import "testing"

// A batch of deliveries made on a read loop (a consumer's round at the
// end of a read buffer) to an idle TCP client is written by the caller
// itself before DeliverBatchNow returns: no write loop is woken for it.
func TestDeliverBatchNowWritesAtOnce(t *testing.T) {
	s := loopServer(t, Options{})
	sub, peer := idleTCPClient(t, s)
	send(t, sub, "SUB _INBOX.f 1\r\n")
	ip := s.InProc("consumer")
	defer ip.Close()
	ip.DeliverBatchNow(func(deliver func(route, subject, reply string, header, data []byte) error) {
		for range 3 {
			if err := deliver("_INBOX.f", "orders.1", "$JS.ACK.S.C.1.1.1.0.0", nil, []byte("hi")); err != nil {
				t.Fatal(err)
			}
		}
	})
	requireWrittenAtOnce(t, sub, "DeliverBatchNow")
	expectLines(t, peer, "MSG orders.1 1 $JS.ACK.S.C.1.1.1.0.0 2\r\n", "hi\r\n", "MSG orders.1 1 $JS.ACK.S.C.1.1.1.0.0 2\r\n")
}
