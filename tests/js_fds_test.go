package tests

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fdLimited runs the daemon under a file descriptor limit of n, soft and
// hard, as a service manager or container can set it.
func fdLimited(n int) func(bin string, args ...string) *exec.Cmd {
	return func(bin string, args ...string) *exec.Cmd {
		return exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, n), bin}, args...)...)
	}
}

// TestJSManyStreamsUnderFDLimit runs the daemon with 96 file
// descriptors and creates 160 file streams, each holding a message, and
// on every other one a durable consumer that acks it: new clients still
// connect and get INFO, every stream takes publishes, and after SIGKILL
// the daemon starts again under the same limit with every stream,
// message and ack.
func TestJSManyStreamsUnderFDLimit(t *testing.T) {
	needTool(t, "sh", "apt-get install -y dash")
	const streams, limit = 160, 96
	dir := filepath.Join(t.TempDir(), "store")
	d := startDaemonWith(t, dir, fdLimited(limit))
	_, js := daemonJS(t, d)
	ctx := jsCtx(t)
	for i := range streams {
		n := fmt.Sprint("F", i)
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: n, Subjects: []string{"f." + n}}); err != nil {
			t.Fatalf("create stream %d of %d under %d fds: %v", i+1, streams, limit, err)
		}
		if _, err := js.Publish(ctx, "f."+n, []byte(n)); err != nil {
			t.Fatalf("publish to stream %d: %v", i+1, err)
		}
		if i%2 == 0 {
			s, err := js.Stream(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				t.Fatalf("consumer on stream %d: %v", i+1, err)
			}
			m, err := c.Next(jetstream.FetchMaxWait(testTimeout))
			if err != nil {
				t.Fatalf("next on stream %d: %v", i+1, err)
			}
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatalf("ack on stream %d: %v", i+1, err)
			}
		}
	}
	for i := range 5 {
		nc, err := nats.Connect(d.url, nats.MaxReconnects(0))
		if err != nil {
			t.Fatalf("client %d after %d streams: %v", i, streams, err)
		}
		nc.Close()
	}
	// Every stream still takes a publish and reads it back.
	for i := range streams {
		n := fmt.Sprint("F", i)
		if _, err := js.Publish(ctx, "f."+n, []byte(n)); err != nil {
			t.Fatalf("second publish to %s: %v", n, err)
		}
	}
	d.kill()

	d = startDaemonWith(t, dir, fdLimited(limit))
	_, js = daemonJS(t, d)
	if got := len(streamNames(t, js)); got != streams {
		t.Fatalf("%d streams after restart; want %d", got, streams)
	}
	for i := range streams {
		n := fmt.Sprint("F", i)
		s, err := js.Stream(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.GetLastMsgForSubject(ctx, "f."+n)
		if err != nil || string(m.Data) != n || m.Sequence != 2 {
			t.Fatalf("%s after restart: %+v, %v; want its second message", n, m, err)
		}
		if i%2 == 0 {
			c, err := s.Consumer(ctx, "D")
			if err != nil {
				t.Fatalf("%s consumer after restart: %v", n, err)
			}
			if ci := c.CachedInfo(); ci.AckFloor.Stream != 1 {
				t.Fatalf("%s consumer after restart: ack floor %d; want 1", n, ci.AckFloor.Stream)
			}
		}
	}
}
