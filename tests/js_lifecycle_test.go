package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// daemonJS connects to a daemon with nats.go and its JetStream context.
func daemonJS(t *testing.T, d *daemon) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(d.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// checkCorePubSub fails unless a message published on nc reaches a
// subscriber on nc.
func checkCorePubSub(t *testing.T, nc *nats.Conn) {
	t.Helper()
	sub, err := nc.SubscribeSync("core.check")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("core.check", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(testTimeout); err != nil || string(m.Data) != "hi" {
		t.Fatalf("core pub/sub: %v, %v", m, err)
	}
}

func streamNames(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var names []string
	l := js.StreamNames(jsCtx(t))
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// TestJSDaemonSetsBrokenStreamsAside damages stream directories of a
// stopped daemon (configuration missing, truncated, directory emptied)
// and checks that it starts, serves the intact stream with its messages
// and core NATS, logs each damaged stream, moves it into broken/, and
// names it with its reason in /healthz (503) and /jsz.
func TestJSDaemonSetsBrokenStreamsAside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	d := startDaemon(t, dir)
	_, js := daemonJS(t, d)
	ctx := jsCtx(t)
	names := []string{"GOOD", "MISSING", "TRUNC", "EMPTY"}
	for _, n := range names {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: n, Subjects: []string{strings.ToLower(n)}}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := js.Publish(ctx, strings.ToLower(n), []byte("m")); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.kill()

	sd := filepath.Join(dir, "jetstream", "streams")
	os.Remove(filepath.Join(sd, "MISSING", "stream.json"))
	b, err := os.ReadFile(filepath.Join(sd, "TRUNC", "stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sd, "TRUNC", "stream.json"), b[:len(b)/2], 0o640)
	os.RemoveAll(filepath.Join(sd, "EMPTY"))
	os.Mkdir(filepath.Join(sd, "EMPTY"), 0o750)

	// The monitoring port is picked here: the daemon does not log it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mport := l.Addr().(*net.TCPAddr).Port
	l.Close()
	d = startDaemonWith(t, dir, func(bin string, args ...string) *exec.Cmd {
		return exec.Command(bin, append(args, "-m", fmt.Sprint(mport))...)
	})
	nc, js := daemonJS(t, d)
	checkCorePubSub(t, nc)
	base := fmt.Sprintf("http://127.0.0.1:%d", mport)
	var health struct{ Status, Error string }
	resp := getJSON(t, http.DefaultClient, base+"/healthz", &health)
	var jsz struct {
		Broken []struct{ Name, Reason string } `json:"broken_streams"`
	}
	getJSON(t, http.DefaultClient, base+"/jsz", &jsz)
	for _, n := range names[1:] {
		if resp.StatusCode != 503 || !strings.Contains(health.Error, `"`+n+`"`) {
			t.Errorf("/healthz = %d %+v; want 503 naming %s", resp.StatusCode, health, n)
		}
		found := false
		for _, b := range jsz.Broken {
			found = found || (b.Name == n && b.Reason != "")
		}
		if !found {
			t.Errorf("/jsz broken_streams %+v; want %s with its reason", jsz.Broken, n)
		}
	}
	if got := streamNames(t, js); fmt.Sprint(got) != "[GOOD]" {
		t.Fatalf("streams %v after restart; want [GOOD]", got)
	}
	s, err := js.Stream(ctx, "GOOD")
	if err != nil || s.CachedInfo().State.Msgs != 3 {
		t.Fatalf("GOOD after restart: %v; want 3 messages", err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "..", "daemon.log"))
	moved, _ := os.ReadDir(filepath.Join(dir, "jetstream", "broken"))
	for _, n := range names[1:] {
		if !strings.Contains(string(log), "stream cannot be opened") || !strings.Contains(string(log), "stream="+n) {
			t.Errorf("no log line for %s:\n%s", n, log)
		}
		found := false
		for _, e := range moved {
			found = found || strings.HasPrefix(e.Name(), n+".")
		}
		if !found {
			t.Errorf("%s not in broken/: %v", n, moved)
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "MISSING", Subjects: []string{"missing"}}); err != nil {
		t.Fatalf("creating MISSING anew: %v", err)
	}
}

// TestJSDaemonServesCoreWhenStoreCannotOpen points the store at a file:
// the daemon starts anyway and serves core NATS, and says why streams are
// not served.
func TestJSDaemonServesCoreWhenStoreCannotOpen(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "store")
	if err := os.WriteFile(file, []byte("not a directory"), 0o640); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, file)
	nc, _ := daemonJS(t, d)
	checkCorePubSub(t, nc)
	log, _ := os.ReadFile(filepath.Join(base, "daemon.log"))
	if !strings.Contains(string(log), "stream layer cannot open") {
		t.Fatalf("log does not say why streams are off:\n%s", log)
	}
}

// TestJSKillDuringCreateAndDelete kills the daemon with SIGKILL at many
// points of a loop that creates streams, publishes to them, and deletes
// or purges them, and checks after every restart that the daemon starts,
// that every stream whose creation was confirmed and whose deletion was
// not requested is there with every acknowledged message, that no
// message of a confirmed purge came back, and that no stream whose
// deletion was confirmed came back.
func TestJSKillDuringCreateAndDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	created := map[string]int{}  // confirmed, with the acknowledged messages since a confirmed purge
	purging := map[string]bool{} // purge requested: it may have happened unconfirmed
	purged := map[string]bool{}  // its first five messages purged, confirmed
	deleting := map[string]bool{}
	deleted := map[string]bool{}
	next := 0
	for round := range 6 {
		d := startDaemon(t, dir)
		nc, js := daemonJS(t, d)
		ctx := jsCtx(t)
		have := streamNames(t, js)
		present := map[string]bool{}
		for _, n := range have {
			present[n] = true
		}
		for n, msgs := range created {
			if deleting[n] {
				continue
			}
			if !present[n] {
				t.Fatalf("round %d: stream %s, confirmed with %d messages, is gone", round, n, msgs)
			}
			s, err := js.Stream(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.CachedInfo().State.Msgs; got < uint64(msgs) && !(purging[n] && !purged[n]) {
				t.Fatalf("round %d: stream %s holds %d messages; %d were acknowledged", round, n, got, msgs)
			}
			if first := s.CachedInfo().State.FirstSeq; purged[n] && first <= 5 {
				t.Fatalf("round %d: stream %s starts at %d after its purge of 1..5 was confirmed", round, n, first)
			}
		}
		for n := range deleted {
			if present[n] {
				t.Fatalf("round %d: stream %s came back after its deletion was confirmed", round, n)
			}
		}
		checkCorePubSub(t, nc)

		// Work until killed: the kill lands later in each round.
		var mu sync.Mutex
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				n := fmt.Sprintf("S%d", next)
				next++
				mu.Unlock()
				cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				s, err := js.CreateStream(cctx, jetstream.StreamConfig{Name: n, Subjects: []string{"s." + n}})
				if err != nil {
					cancel()
					return
				}
				mu.Lock()
				created[n] = 0
				mu.Unlock()
				for range 5 {
					if _, err := js.Publish(cctx, "s."+n, []byte("m")); err != nil {
						cancel()
						return
					}
					mu.Lock()
					created[n]++
					mu.Unlock()
				}
				// Purge the others, then publish two more.
				if next%2 == 1 {
					mu.Lock()
					purging[n] = true
					mu.Unlock()
					if err := s.Purge(cctx); err != nil {
						cancel()
						return
					}
					mu.Lock()
					purged[n], created[n] = true, 0
					mu.Unlock()
					for range 2 {
						if _, err := js.Publish(cctx, "s."+n, []byte("m")); err != nil {
							cancel()
							return
						}
						mu.Lock()
						created[n]++
						mu.Unlock()
					}
				}
				// Delete every other stream.
				if next%2 == 0 {
					mu.Lock()
					deleting[n] = true
					mu.Unlock()
					if err := js.DeleteStream(cctx, n); err != nil {
						cancel()
						return
					}
					mu.Lock()
					deleted[n] = true
					mu.Unlock()
				}
				cancel()
			}
		}()
		time.Sleep(time.Duration(50+60*round) * time.Millisecond)
		d.kill()
		close(stop)
		<-done
		nc.Close()
	}
	d := startDaemon(t, dir)
	_, js := daemonJS(t, d)
	if len(streamNames(t, js)) == 0 && len(created) > len(deleting) {
		t.Fatal("no stream after the last restart")
	}
	t.Logf("%d streams created, %d deleted over the rounds", len(created), len(deleted))
}
