package server

import (
	"fmt"
	"strings"
	"testing"
)

// pubRun is one read buffer's worth of PUBs to one subject, as a
// publisher streaming 1 KiB messages hands the read loop.
func pubRun(subject string, n, size int) []byte {
	one := "PUB " + subject + " " + fmt.Sprint(size) + "\r\n" + strings.Repeat("x", size) + "\r\n"
	return []byte(strings.Repeat(one, n))
}

// TestPubRunSeesSubscriptionChanges publishes runs to one subject while
// subscriptions come and go between and inside the runs: the producer's
// last-match and last-subscriber shortcuts never deliver to a subscriber
// that left or miss one that came.
func TestPubRunSeesSubscriptionChanges(t *testing.T) {
	s := loopServer(t, Options{})
	pub := loopClient(t, s, "")
	a := loopClient(t, s, "")
	b := loopClient(t, s, "")
	send(t, a, "SUB run.x 1\r\n")

	send(t, pub, "PUB run.x 2\r\nm1\r\nPUB run.x 2\r\nm2\r\n")
	if got, want := takeOut(a), "MSG run.x 1 2\r\nm1\r\nMSG run.x 1 2\r\nm2\r\n"; got != want {
		t.Fatalf("a got %q, want %q", got, want)
	}
	// b subscribes after the subject was matched and remembered.
	send(t, b, "SUB run.x 7\r\n")
	send(t, pub, "PUB run.x 2\r\nm3\r\n")
	if got, want := takeOut(b), "MSG run.x 7 2\r\nm3\r\n"; got != want {
		t.Fatalf("b after SUB got %q, want %q", got, want)
	}
	if got, want := takeOut(a), "MSG run.x 1 2\r\nm3\r\n"; got != want {
		t.Fatalf("a got %q, want %q", got, want)
	}
	// a leaves in the middle of a read buffer's run: parse the first
	// message, unsubscribe, then parse the rest before the flush.
	if err := pub.parser.Parse([]byte("PUB run.x 2\r\nm4\r\n"), pub); err != nil {
		t.Fatal(err)
	}
	send(t, a, "UNSUB 1\r\n")
	if err := pub.parser.Parse([]byte("PUB run.x 2\r\nm5\r\n"), pub); err != nil {
		t.Fatal(err)
	}
	pub.pc.flush()
	if got, want := takeOut(a), "MSG run.x 1 2\r\nm4\r\n"; got != want {
		t.Fatalf("a after UNSUB got %q, want %q", got, want)
	}
	if got, want := takeOut(b), "MSG run.x 7 2\r\nm4\r\nMSG run.x 7 2\r\nm5\r\n"; got != want {
		t.Fatalf("b got %q, want %q", got, want)
	}
	// Another subject in between, then back: each gets its own result.
	send(t, a, "SUB run.y 2\r\n")
	send(t, pub, "PUB run.y 1\r\ny\r\nPUB run.x 1\r\nx\r\nPUB run.y 1\r\nz\r\n")
	if got, want := takeOut(a), "MSG run.y 2 1\r\ny\r\nMSG run.y 2 1\r\nz\r\n"; got != want {
		t.Fatalf("a got %q, want %q", got, want)
	}
	if got, want := takeOut(b), "MSG run.x 7 1\r\nx\r\n"; got != want {
		t.Fatalf("b got %q, want %q", got, want)
	}
}

// deliverRun empties the subscribers' queues, then has pub's read loop
// parse run and flush what it delivered.
func deliverRun(tb testing.TB, pub *client, cs []*client, run []byte) {
	for _, c := range cs {
		c.out.reset()
	}
	if err := pub.parser.Parse(run, pub); err != nil {
		tb.Fatal(err)
	}
	pub.foldIn()
	pub.pc.flush()
}

// BenchmarkPubDeliverRun parses read buffers of 32 PUBs of 1 KiB each and
// delivers them to one or four subscribers' queues, one flush per buffer,
// as the read loop does under a streaming publisher. ns/msg is the figure.
func BenchmarkPubDeliverRun(b *testing.B) {
	const n = 32
	for _, subs := range []int{1, 4} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			s := loopServer(b, Options{})
			pub := loopClient(b, s, "")
			cs := make([]*client, subs)
			for i := range cs {
				cs[i] = loopClient(b, s, "")
				send(b, cs[i], "SUB bench.run 1\r\n")
			}
			run := pubRun("bench.run", n, 1024)
			b.SetBytes(int64(n * subs * 1024))
			b.ReportAllocs()
			for b.Loop() {
				deliverRun(b, pub, cs, run)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
		})
	}
}
