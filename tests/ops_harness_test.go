package tests

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// opsDaemon is a wren daemon with monitoring on a free port, whose exit a
// test can wait for.
type opsDaemon struct {
	*wrenProc
	exited chan struct{}
	mon    string // http://host:port of the monitoring listener
}

var monitorAddr = regexp.MustCompile(`monitoring listening"?[ ,]"?addr"?[=:]"?([0-9.:]+)`)

// startOps runs the daemon on 127.0.0.1 with a free client and monitoring
// port and the given config file body (may be empty) and extra args.
func startOps(t *testing.T, dir, config string, args ...string) *opsDaemon {
	t.Helper()
	return startOpsLog(t, dir, config, "", args...)
}

// startOpsLog is startOps for a daemon that logs to logFile (set in its
// config) instead of standard error.
func startOpsLog(t *testing.T, dir, config, logFile string, args ...string) *opsDaemon {
	t.Helper()
	base := []string{"-a", "127.0.0.1", "-p", "0"}
	body := "[monitor]\nhost = \"127.0.0.1\"\nport = -1\n" + config
	base = append(base, "-c", writeFile(t, dir, "wren.toml", body))
	p := &opsDaemon{wrenProc: &wrenProc{t: t}, exited: make(chan struct{})}
	p.cmd = exec.Command(wrenPath(t), append(base, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.wrenProc, p.wrenProc
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(testTimeout):
			p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("wren did not stop on SIGTERM")
		}
	})
	waitUntil(t, func() error {
		select {
		case <-p.exited:
			t.Fatalf("wren exited early:\n%s", p.logText())
		default:
		}
		text := p.logText()
		if logFile != "" {
			b, _ := os.ReadFile(logFile)
			text = string(b)
		}
		i := strings.Index(text, "wren started")
		if i < 0 {
			return fmt.Errorf("wren has not started:\n%s", text)
		}
		m := startedURL.FindStringSubmatch(text[i:])
		mm := monitorAddr.FindStringSubmatch(text)
		if m == nil || mm == nil {
			t.Fatalf("no client url or monitoring address in the log:\n%s", text)
		}
		p.url, p.mon = m[1], "http://"+mm[1]
		return nil
	})
	return p
}

// waitExit waits up to d for the daemon to exit and returns its exit code.
func (p *opsDaemon) waitExit(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		p.t.Fatalf("wren still running after %v:\n%s", d, p.logText())
		return -1
	}
}

// get fetches a monitoring path and returns its status and body.
func (p *opsDaemon) get(path string) (int, string) {
	p.t.Helper()
	resp, err := http.Get(p.mon + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}
