package tests

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// buildWren builds the daemon once per test binary run: the same build
// as the configuration tests', not a second one competing for the CPU
// with the tests running meanwhile.
var buildWren = wrenBinary

// daemon is a wren child process.
type daemon struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed once the process is reaped
}

// startDaemon runs the wren binary with streams in dir and waits until it
// accepts clients. The daemon picks a free port itself and logs its URL:
// a port chosen here and bound by the daemon later could be taken in
// between by anything else running on the machine.
func startDaemon(t testing.TB, dir string) *daemon {
	t.Helper()
	return startDaemonWith(t, dir, exec.Command)
}

// startDaemonWith is startDaemon with the command built by command, which
// may wrap the binary (to run it under a lower resource limit, say).
func startDaemonWith(t testing.TB, dir string, command func(bin string, args ...string) *exec.Cmd) *daemon {
	t.Helper()
	bin, err := buildWren()
	if err != nil {
		t.Fatal(err)
	}
	cmd := command(bin, "-a", "127.0.0.1", "-p", "0", "-sd", dir)
	out := &wrenProc{t: t, cmd: cmd}
	cmd.Stdout, cmd.Stderr = out, out
	logf, err := os.OpenFile(filepath.Join(dir, "..", "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		w := io.MultiWriter(logf, out)
		cmd.Stdout, cmd.Stderr = w, w
		t.Cleanup(func() { logf.Close() })
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(d.kill)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-d.exited:
			t.Fatalf("daemon exited before it started:\n%s", out.logText())
		default:
		}
		text := out.logText()
		if i := strings.Index(text, "wren started"); i >= 0 {
			m := startedURL.FindStringSubmatch(text[i:])
			if m == nil {
				t.Fatalf("no url in the start line:\n%s", text)
			}
			d.url = m[1]
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start within 20s:\n%s", text)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and reaps the process; it may be called more than
// once.
func (d *daemon) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
}

// TestJSCrashKeepsAckedMessages publishes asynchronously to a durable
// stream, kills the daemon with SIGKILL mid-stream, restarts it on the same
// store and checks that every message that received a PubAck is there, at
// its sequence, in order, with no duplicates and no gaps.
func TestJSCrashKeepsAckedMessages(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "store")
	d := startDaemon(t, dir)

	nc, err := nats.Connect(d.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "CRASH", Subjects: []string{"crash.>"}}); err != nil {
		t.Fatal(err)
	}

	// Publish until enough acks arrived, then kill while more are in flight.
	var mu sync.Mutex
	acked := make(map[uint64]string) // seq -> payload
	const killAfter = 20000
	killed := make(chan struct{})
	var once sync.Once
	go func() {
		for i := 0; ; i++ {
			select {
			case <-killed:
				return
			default:
			}
			payload := "m-" + strconv.Itoa(i)
			f, err := js.PublishAsync("crash.data", []byte(payload))
			if err != nil {
				continue // the connection is going away
			}
			go func(f jetstream.PubAckFuture, p string) {
				select {
				case ack := <-f.Ok():
					mu.Lock()
					acked[ack.Sequence] = p
					n := len(acked)
					mu.Unlock()
					if n >= killAfter {
						once.Do(func() { d.kill(); close(killed) })
					}
				case <-f.Err():
				case <-killed:
				}
			}(f, payload)
		}
	}()
	select {
	case <-killed:
	case <-ctx.Done():
		t.Fatal("publishing did not reach the kill point")
	}
	nc.Close()
	mu.Lock()
	want := make(map[uint64]string, len(acked))
	for k, v := range acked {
		want[k] = v
	}
	mu.Unlock()
	t.Logf("%d messages acknowledged before SIGKILL", len(want))

	d2 := startDaemon(t, dir)
	nc2, err := nats.Connect(d2.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	js2, err := jetstream.New(nc2)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js2.Stream(ctx, "CRASH")
	if err != nil {
		t.Fatalf("stream lost after SIGKILL: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := info.State
	if st.FirstSeq != 1 || st.LastSeq != st.Msgs || st.NumDeleted != 0 {
		t.Fatalf("state after restart: first %d last %d msgs %d deleted %d; want a gapless 1..N", st.FirstSeq, st.LastSeq, st.Msgs, st.NumDeleted)
	}
	var maxAcked uint64
	for seq := range want {
		maxAcked = max(maxAcked, seq)
	}
	if st.LastSeq < maxAcked {
		t.Fatalf("last seq %d after restart, but seq %d was acknowledged", st.LastSeq, maxAcked)
	}
	// Read everything back in order.
	seen := make(map[string]uint64, st.Msgs)
	for seq := uint64(1); seq <= st.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		p := string(m.Data)
		if prev, dup := seen[p]; dup {
			t.Fatalf("payload %q stored twice, at %d and %d", p, prev, seq)
		}
		seen[p] = seq
		if w, ok := want[seq]; ok && w != p {
			t.Fatalf("seq %d holds %q; the PubAck for it was for %q", seq, p, w)
		}
	}
	for seq, p := range want {
		if seen[p] != seq {
			t.Fatalf("acknowledged %q at seq %d is missing after restart", p, seq)
		}
	}
	// The restarted stream takes new messages after the old ones.
	ack, err := js2.Publish(ctx, "crash.data", []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Sequence != st.LastSeq+1 {
		t.Fatalf("first publish after restart got seq %d; want %d", ack.Sequence, st.LastSeq+1)
	}
}
