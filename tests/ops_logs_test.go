package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
)

// logLines reads a JSON log file.
func logLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

func findLog(lines []map[string]any, match func(map[string]any) bool) map[string]any {
	for _, l := range lines {
		if match(l) {
			return l
		}
	}
	return nil
}

// JSON logs with levels, connection ids, remote addresses and close
// reasons; log.trace logs protocol operations (never credentials) and is
// switched off by a reload; SIGUSR1 reopens the log file after logrotate
// moved it.
func TestLogsTraceAndReopen(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "wren.log")
	cfg := func(trace bool) string {
		return fmt.Sprintf("[log]\nformat = \"json\"\nfile = %q\ntrace = %v\n[authorization]\nuser = \"u\"\npassword = \"secret-pw\"\n", logFile, trace)
	}
	d := startOpsLog(t, dir, cfg(true), logFile)
	nc, err := nats.Connect(d.url, nats.UserInfo("u", "secret-pw"), nats.Name("tracer"))
	if err != nil {
		t.Fatalf("%v\n%s", err, readFile(t, logFile))
	}
	nc.Subscribe("t.sub", func(*nats.Msg) {})
	nc.Publish("t.pub", []byte("12345"))
	flushNATS(t, nc)
	// A protocol error from a raw client: -ERR traced, close reason logged.
	raw, err := net.Dial("tcp", strings.TrimPrefix(d.url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte("CONNECT {\"user\":\"u\",\"pass\":\"secret-pw\"}\r\nBOGUS\r\n"))
	buf := make([]byte, 4096)
	for {
		if _, err := raw.Read(buf); err != nil {
			break
		}
	}
	raw.Close()

	var lines []map[string]any
	waitUntil(t, func() error {
		lines = logLines(t, logFile)
		if findLog(lines, func(l map[string]any) bool { return l["reason"] == "Protocol Error" }) == nil {
			return fmt.Errorf("no close reason logged yet:\n%s", readFile(t, logFile))
		}
		return nil
	})
	text, _ := os.ReadFile(logFile)
	if strings.Contains(string(text), "secret-pw") {
		t.Errorf("the password is in the log:\n%s", text)
	}
	for name, match := range map[string]func(map[string]any) bool{
		"CONNECT, redacted": func(l map[string]any) bool {
			o, _ := l["opts"].(string)
			return l["msg"] == "<- CONNECT" && strings.Contains(o, `"pass":"[redacted]"`) && strings.Contains(o, `"name":"tracer"`) && l["level"] == "DEBUG"
		},
		"SUB": func(l map[string]any) bool { return l["msg"] == "<- SUB" && l["subject"] == "t.sub" && l["cid"] != nil },
		"PUB": func(l map[string]any) bool {
			return l["msg"] == "<- PUB" && l["subject"] == "t.pub" && l["bytes"] == 5.0
		},
		"-ERR": func(l map[string]any) bool {
			return l["msg"] == "-> -ERR" && l["error"] == "Unknown Protocol Operation"
		},
		"created with remote": func(l map[string]any) bool {
			r, _ := l["remote"].(string)
			return l["msg"] == "client connection created" && strings.HasPrefix(r, "127.0.0.1:")
		},
		"closed with reason": func(l map[string]any) bool {
			r, _ := l["remote"].(string)
			return l["msg"] == "client connection closed" && l["reason"] == "Protocol Error" && l["level"] == "INFO" && strings.HasPrefix(r, "127.0.0.1:")
		},
	} {
		if findLog(lines, match) == nil {
			t.Errorf("no %s line in the log:\n%s", name, text)
		}
	}

	// logrotate: move the file away, SIGUSR1, and logging goes on in a
	// new file of the configured name; the moved one gets nothing more.
	rotated := logFile + ".1"
	if err := os.Rename(logFile, rotated); err != nil {
		t.Fatal(err)
	}
	d.signal(syscall.SIGUSR1)
	waitUntil(t, func() error {
		if _, err := os.Stat(logFile); err != nil {
			return err
		}
		return nil
	})
	// Reload with trace off: later operations are not traced.
	writeFile(t, dir, "wren.toml", "[monitor]\nhost = \"127.0.0.1\"\nport = -1\n"+cfg(false))
	d.signal(syscall.SIGHUP)
	waitUntil(t, func() error {
		if !strings.Contains(readFile(t, logFile), "configuration reloaded") {
			return fmt.Errorf("not reloaded yet:\n%s", readFile(t, logFile))
		}
		return nil
	})
	nc.Publish("t.after", []byte("x"))
	flushNATS(t, nc)
	after := readFile(t, logFile)
	if !strings.Contains(after, "log file reopened") {
		t.Errorf("the new file does not say it was reopened:\n%s", after)
	}
	if strings.Contains(after, "t.after") {
		t.Errorf("a publish after trace was switched off was traced:\n%s", after)
	}
	moved := readFile(t, rotated)
	if strings.Contains(moved, "configuration reloaded") || strings.Contains(moved, "log file reopened") {
		t.Errorf("the rotated file kept getting lines:\n%s", moved)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
