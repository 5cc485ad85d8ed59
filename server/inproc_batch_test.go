package server

import (
	"errors"
	"strings"
	"testing"
)

// A batch of deliveries reaches the route's subscriber in order, each
// showing the subject it carries and its reply; a bad subject is refused
// without stopping the rest, and a closed connection delivers nothing.
func TestDeliverBatch(t *testing.T) {
	s := loopServer(t, Options{})
	ip := s.InProc("batch")
	sub := loopClient(t, s, "")
	send(t, sub, "SUB _INBOX.req 1\r\n")

	var errs []error
	ip.DeliverBatch(func(deliver func(route, subject, reply string, header, data []byte) error) {
		errs = append(errs,
			deliver("_INBOX.req", "orders.1", "$JS.ACK.S.C.1.1.1.0.2", nil, []byte("one")),
			deliver("_INBOX.req", "orders.2", "$JS.ACK.S.C.1.2.2.0.1", nil, []byte("two")),
			deliver("_INBOX.req", "orders.*", "", nil, []byte("bad")),
			deliver("_INBOX.>", "orders.3", "", nil, []byte("bad")),
			deliver("_INBOX.req", "orders.3", "$JS.ACK.S.C.1.3.3.0.0", nil, []byte("three")),
		)
	})
	for i, err := range errs {
		bad := i == 2 || i == 3
		if bad != errors.Is(err, ErrInvalidSubject) || (!bad && err != nil) {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	expectOut(t, sub, "MSG orders.1 1 $JS.ACK.S.C.1.1.1.0.2 3\r\none\r\n"+
		"MSG orders.2 1 $JS.ACK.S.C.1.2.2.0.1 3\r\ntwo\r\n"+
		"MSG orders.3 1 $JS.ACK.S.C.1.3.3.0.0 5\r\nthree\r\n")

	ip.Close()
	var err error
	ip.DeliverBatch(func(deliver func(route, subject, reply string, header, data []byte) error) {
		err = deliver("_INBOX.req", "orders.4", "", nil, []byte("four"))
	})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v; want ErrClosed", err)
	}
	expectOut(t, sub, "")
}

// A batch bigger than deliverWakeBytes is delivered whole.
func TestDeliverBatchLarge(t *testing.T) {
	s := loopServer(t, Options{})
	ip := s.InProc("batch")
	sub := loopClient(t, s, "")
	send(t, sub, "SUB _INBOX.req 1\r\n")
	data := []byte(strings.Repeat("x", 1000))
	const n = 3 * deliverWakeBytes / 1000
	ip.DeliverBatch(func(deliver func(route, subject, reply string, header, data []byte) error) {
		for range n {
			if err := deliver("_INBOX.req", "orders.1", "", nil, data); err != nil {
				t.Fatal(err)
			}
		}
	})
	if got, want := strings.Count(takeOut(sub), "MSG orders.1 1 1000\r\n"), n; got != want {
		t.Errorf("subscriber got %d messages; want %d", got, want)
	}
}

// A subscription made or ended on the route while a batch runs is seen
// by the batch's next delivery, as by separate publishes.
func TestDeliverBatchSeesSubscriptionChanges(t *testing.T) {
	s := loopServer(t, Options{})
	ip := s.InProc("batch")
	a := loopClient(t, s, "")
	b := loopClient(t, s, "")
	send(t, a, "SUB _INBOX.req 1\r\n")
	ip.DeliverBatch(func(deliver func(route, subject, reply string, header, data []byte) error) {
		deliver("_INBOX.req", "orders.1", "", nil, []byte("1"))
		send(t, b, "SUB _INBOX.* 7\r\n")
		deliver("_INBOX.req", "orders.2", "", nil, []byte("2"))
		send(t, a, "UNSUB 1\r\n")
		deliver("_INBOX.req", "orders.3", "", nil, []byte("3"))
	})
	expectOut(t, a, "MSG orders.1 1 1\r\n1\r\nMSG orders.2 1 1\r\n2\r\n")
	expectOut(t, b, "MSG orders.2 7 1\r\n2\r\nMSG orders.3 7 1\r\n3\r\n")

	// The next batch, or a plain publish, matches the route afresh.
	send(t, a, "SUB _INBOX.req 2\r\n")
	if err := ip.PublishAs("_INBOX.req", "orders.4", "", nil, []byte("4")); err != nil {
		t.Fatal(err)
	}
	expectOut(t, a, "MSG orders.4 2 1\r\n4\r\n")
	expectOut(t, b, "MSG orders.4 7 1\r\n4\r\n")
}
