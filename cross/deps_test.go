package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLeavesOutHeavyPackages checks that the daemon links none of
// the packages kept out of it for their size: regexp (and its Unicode
// tables) costs linux/arm64 about 260 KB, and github.com/nats-io/nkeys
// brings it in through a regular expression compiled at start-up; use
// protocol/nkey instead. nats-server is a test-only peer.
func TestBinaryLeavesOutHeavyPackages(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "./cmd/wren")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	banned := []string{"regexp", "github.com/nats-io/nkeys", "github.com/nats-io/nats-server/v2/server", "github.com/nats-io/nats.go"}
	for _, p := range strings.Fields(string(out)) {
		for _, b := range banned {
			if p == b {
				t.Errorf("./cmd/wren links %s", p)
			}
		}
	}
}
