package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wrenmq/wren/conf"
)

// wrenBinary builds cmd/wren once per test run.
var wrenBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "wren-conf-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "wren")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/wrenmq/wren/cmd/wren").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func wrenPath(t testing.TB) string {
	t.Helper()
	bin, err := wrenBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runWren runs the wren binary to completion (or kills it after
// testTimeout) and returns its output and exit code.
func runWren(t testing.TB, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrenPath(t), args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wren %q still running after %v; stderr:\n%s", args, testTimeout, errb.String())
	}
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("wren %q: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfDaemonRefusesBadFile starts the daemon on broken files: each
// must stop it at once with exit code 1 and one line on stderr naming
// file:line:column, the key and the problem, exactly as conf reports it.
func TestConfDaemonRefusesBadFile(t *testing.T) {
	tests := []struct {
		name, body string
		wantAt     string // "line:column: key" prefix after the file name
	}{
		{"unknown key", "prot = 4222\n", "1:1: prot: unknown key; did you mean port?"},
		{"wrong type", "port = \"4222\"\n", "1:8: port: expected an integer"},
		{"over the hard limit", "[limits]\nmax_payload = \"9MB\"\n", "2:15: limits.max_payload:"},
		{"syntax", "port = \n", "1:8: invalid TOML:"},
		{"bad duration", "[limits]\nping_interval = \"2 minutes\"\n", "2:17: limits.ping_interval:"},
		{"bad permission subject", "[[authorization.users]]\nuser = \"a\"\npassword = \"p\"\npermissions.publish = [\"foo..bar\"]\n",
			"4:24: authorization.users[0].permissions.publish.allow[0]:"},
		{"seed instead of public nkey", "[[authorization.users]]\nnkey = \"SUAM2XYZ\"\n", "2:8: authorization.users[0].nkey: this is a user seed"},
		{"token and users", "[authorization]\ntoken = \"t\"\n[[authorization.users]]\nuser = \"a\"\npassword = \"p\"\n",
			"2:9: authorization.token: cannot be combined with authorization.users"},
		{"cert without key", "[tls]\ncert_file = \"x.pem\"\n", "2:13: tls.cert_file: set without tls.key_file"},
		{"bad log level", "[log]\nlevel = \"loud\"\n", "2:9: log.level:"},
		{"port in host", "host = \"0.0.0.0:4222\"\n", "1:8: host:"},
		{"malformed bcrypt", "[authorization]\nuser = \"x\"\npassword = \"$2a$10$short\"\n", "3:12: authorization.password: malformed bcrypt hash"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, "bad.toml", tt.body)
			_, loadErr := conf.Load(file)
			if loadErr == nil {
				t.Fatalf("conf.Load accepted the file; the table is wrong")
			}
			for _, args := range [][]string{{"-c", file}, {"--config", file, "--check"}} {
				stdout, stderr, code := runWren(t, dir, args...)
				if code != 1 {
					t.Errorf("wren %q exit code = %d; want 1", args, code)
				}
				if want := "wren: " + loadErr.Error() + "\n"; stderr != want {
					t.Errorf("wren %q stderr = %q; want %q", args, stderr, want)
				}
				if prefix := "wren: " + file + ":" + tt.wantAt; !strings.HasPrefix(stderr, prefix) {
					t.Errorf("wren %q stderr = %q; want it to start with %q", args, stderr, prefix)
				}
				if stdout != "" {
					t.Errorf("wren %q stdout = %q; want nothing", args, stdout)
				}
			}
		})
	}
}

func TestConfCheck(t *testing.T) {
	dir := t.TempDir()
	// Port 0 everywhere: --check also proves the ports are free, and a
	// fixed port may be taken on a shared machine.
	good := writeFile(t, dir, "good.toml", "port = 0\n[limits]\nmax_payload = \"2MB\"\n")
	example, err := filepath.Abs("../conf/wren.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"good file", []string{"-c", good, "-t"}, 0, good + ": configuration is valid\n", ""},
		{"example file", []string{"--config", example, "--check", "-p", "0"}, 0, example + ": configuration is valid\n", ""},
		{"no file", []string{"--check", "-p", "0"}, 0, "built-in defaults: configuration is valid\n", ""},
		{"flag over the limit", []string{"-c", good, "-t", "--max_payload", "10MB"}, 1, "",
			"wren: command line: limits.max_payload: \"10MB\" exceeds the hard maximum of 8MB\n"},
		{"flags conflict", []string{"-t", "--auth", "t", "--user", "u", "--pass", "p"}, 1, "",
			"wren: command line: authorization.token: cannot be combined with authorization.user and authorization.password\n"},
		{"bad flag value", []string{"-t", "--max_pending", "lots"}, 1, "", "wren: invalid value \"lots\" for flag -max_pending: "},
		{"missing file", []string{"-c", filepath.Join(dir, "nope.toml"), "-t"}, 1, "", "wren: open " + filepath.Join(dir, "nope.toml") + ": no such file or directory\n"},
		{"missing certificate", []string{"-c", good, "-t", "--tlscert", "/nonexistent/c.pem", "--tlskey", "/nonexistent/k.pem"}, 1, "",
			"wren: " + good + ": tls.cert_file: load certificate and key: open /nonexistent/c.pem: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runWren(t, dir, tt.args...)
			if code != tt.wantCode || stdout != tt.wantStdout || !strings.HasPrefix(stderr, tt.wantStderr) || (tt.wantStderr == "" && stderr != "") {
				t.Errorf("wren %q = %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, code, stdout, stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if n := strings.Count(stderr, "\n"); n > 1 {
				t.Errorf("stderr has %d lines; want at most one", n)
			}
		})
	}
}

// wrenProc is a wren daemon started by a test.
type wrenProc struct {
	t   testing.TB
	cmd *exec.Cmd
	url string

	mu  sync.Mutex
	log bytes.Buffer
}

func (p *wrenProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *wrenProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitLog waits until the daemon's log contains s.
func (p *wrenProc) waitLog(s string) {
	p.t.Helper()
	waitUntil(p.t, func() error {
		if !strings.Contains(p.logText(), s) {
			return fmt.Errorf("log has no %q:\n%s", s, p.logText())
		}
		return nil
	})
}

func (p *wrenProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

var startedURL = regexp.MustCompile(`"?url"?[=:]"?(nats://[^" \n]+)`)

// startWren runs the daemon with args and waits until it logs that it
// started; it is stopped when the test ends.
func startWren(t testing.TB, args ...string) *wrenProc {
	t.Helper()
	p := &wrenProc{t: t, cmd: exec.Command(wrenPath(t), args...)}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		p.cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(testTimeout):
			p.cmd.Process.Kill()
			<-exited
			t.Errorf("wren did not stop on SIGTERM")
		}
	})
	waitUntil(t, func() error {
		select {
		case <-exited:
			t.Fatalf("wren exited early:\n%s", p.logText())
		default:
		}
		text := p.logText()
		if !strings.Contains(text, "wren started") {
			return fmt.Errorf("wren has not started:\n%s", text)
		}
		m := startedURL.FindStringSubmatch(text[strings.Index(text, "wren started"):])
		if m == nil {
			t.Fatalf("no url in the start line:\n%s", text)
		}
		p.url = m[1]
		return nil
	})
	return p
}
