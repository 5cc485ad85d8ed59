package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
)

// lockedBuf is a bytes.Buffer several goroutines may write and read.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRequestReplyReadsPerRoundTrip traces the daemon's reads with strace
// during sequential request/reply over plain TCP. A read that drained the
// socket is followed by a wait on the poller, not by a second read that
// returns EAGAIN: each round trip makes one read per hop, never two.
func TestRequestReplyReadsPerRoundTrip(t *testing.T) {
	strace := needTool(t, "strace", "apt-get install -y strace")
	dir := t.TempDir()
	file := writeFile(t, dir, "wren.toml", "host = \"127.0.0.1\"\nport = 0\n")
	p := startWren(t, "-c", file)

	responder, err := nats.Connect(p.url)
	if err != nil {
		t.Fatal(err)
	}
	defer responder.Close()
	if _, err := responder.Subscribe("svc.echo", func(m *nats.Msg) { m.Respond(m.Data) }); err != nil {
		t.Fatal(err)
	}
	requester, err := nats.Connect(p.url)
	if err != nil {
		t.Fatal(err)
	}
	defer requester.Close()
	roundTrips := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := requester.Request("svc.echo", []byte("ping"), testTimeout); err != nil {
				t.Fatal(err)
			}
		}
	}
	roundTrips(50) // the reply subscription is set up

	out := filepath.Join(dir, "reads.txt")
	var stderr lockedBuf
	tr := exec.Command(strace, "-f", "-e", "trace=read", "-o", out, "-p", strconv.Itoa(p.cmd.Process.Pid))
	tr.Stderr = &stderr
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() error {
		if !strings.Contains(stderr.String(), "attached") {
			return fmt.Errorf("strace has not attached yet: %s", stderr.String())
		}
		return nil
	})
	const n = 500
	roundTrips(n)
	if err := requester.Flush(); err != nil {
		t.Fatal(err)
	}
	tr.Process.Signal(os.Interrupt)
	tr.Wait()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var reads, again int
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "read(") {
			reads++
			if strings.Contains(line, "EAGAIN") {
				again++
			}
		}
	}
	// Two hops per round trip, one read each; PINGs and the flush add a few.
	if reads < 2*n {
		t.Fatalf("traced %d reads over %d round trips; the trace missed the daemon's reads", reads, n)
	}
	if again > n/10 {
		t.Errorf("%d of %d reads over %d round trips returned EAGAIN; want a drained socket to wait on the poller instead", again, reads, n)
	}
	if reads > 2*n+n/10 {
		t.Errorf("%d reads over %d round trips; want about 2 (one per hop)", reads, n)
	}
}
