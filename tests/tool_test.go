package tests

import (
	"os"
	"os/exec"
	"testing"
)

// needTool returns the path of an external program a test drives (the nats
// CLI, mosquitto_pub, chromium, promtool). Under CI (CI set in the
// environment) a missing program fails the test, since .ci/run installs
// every one of them; elsewhere the test is skipped with the command that
// installs it.
func needTool(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not on PATH; .ci/run installs it with: %s", name, install)
	}
	t.Skipf("%s is not on PATH; install it with: %s", name, install)
	return ""
}
