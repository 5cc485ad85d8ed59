package tests

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

// natsCLIInstall is how .ci/run installs the nats CLI the drop-in tests
// drive.
const natsCLIInstall = "go install github.com/nats-io/natscli/nats@v0.4.0"

// runNATS runs the nats CLI against url with args and returns what it
// printed (stdout and stderr) and its error. It runs with its own home
// directory, so no saved context of the machine's user changes what it
// does.
func runNATS(t testing.TB, url string, args ...string) (string, error) {
	t.Helper()
	bin := needTool(t, "nats", natsCLIInstall)
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--server", url, "--timeout", "5s"}, args...)...)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustNATS is runNATS that fails the test when the CLI fails, and checks
// that what it printed contains each of want.
func mustNATS(t testing.TB, url string, want []string, args ...string) string {
	t.Helper()
	out, err := runNATS(t, url, args...)
	if err != nil {
		t.Fatalf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("nats %s printed no %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	return out
}

// startWrenWith starts a broker with opts on a free port and, with
// streams, the stream layer in a temp dir; both stop when the test ends.
func startWrenWith(t testing.TB, opts server.Options, streams bool) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.JetStream = "127.0.0.1", 0, streams
	s, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var js *jetstore.JetStream
	var ip *server.InProc
	if streams {
		ip = s.InProc("jetstream")
		js, err = jetstore.Open(ip, jetstore.Config{StoreDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		s.SetStreamReport(func() any { return js.Report() })
		s.SetHealthCheck(js.Health)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if js != nil {
			js.Close()
			ip.Close()
		}
	})
	return s
}

// withCreds returns url with user and password in it, as the CLI takes
// them.
func withCreds(url, user, pass string) string {
	return strings.Replace(url, "nats://", "nats://"+user+":"+pass+"@", 1)
}
