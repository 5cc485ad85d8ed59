package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wrenmq/wren/server"
)

const usageText = `Usage: go run ./cross <command> [options]

Commands:
  build   cross-build stripped static binaries, write checksums, print the
          size table, fail on a binary over its budget
  smoke   run built binaries under qemu-user: stream publish, restart, check
  rss     measure resident memory of the host binary and nats-server
  targets list the targets

Run "go run ./cross <command> -h" for a command's options.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usageText)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "build":
		err = runBuild(args, os.Stdout)
	case "smoke":
		err = runSmoke(args, os.Stdout)
	case "rss":
		err = runRSS(args, os.Stdout)
	case "targets":
		listTargets(os.Stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stdout, usageText)
	default:
		fmt.Fprintf(os.Stderr, "cross: unknown command %q\n\n%s", cmd, usageText)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cross:", err)
		os.Exit(1)
	}
}

func listTargets(w io.Writer) {
	for _, t := range targets {
		smoke := ""
		switch {
		case t.qemu == "-":
			smoke = "native on linux/amd64"
		case t.qemu != "":
			smoke = t.qemu + " -cpu " + t.cpu
		}
		if t.smoke {
			smoke += " (default smoke set)"
		}
		fmt.Fprintf(w, "%-24s budget %5.1f MB  %s\n", t.name, float64(t.budget)/MB, smoke)
	}
}

// repoRoot finds the module root, so the tool works from any directory
// inside the repository.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the wren module")
	}
	return filepath.Dir(mod), nil
}

// prepare resolves what build and smoke both start from: the repository
// root, the targets named, and the version (defaulted when empty).
func prepare(targets string, version *string) (string, []target, error) {
	root, err := repoRoot()
	if err != nil {
		return "", nil, err
	}
	ts, err := selectTargets(targets)
	if err != nil {
		return "", nil, err
	}
	if *version == "" {
		*version = defaultVersion()
	}
	return root, ts, nil
}

// defaultVersion is the version compiled into the server package, so a
// release build and a plain go build report the same unless -version says
// otherwise.
func defaultVersion() string { return server.Version }

// gitCommit returns the short commit of the work tree, marked -dirty when
// it has uncommitted changes, or "unknown" without git.
func gitCommit(dir string) string {
	out, err := gitOutput(dir, "rev-parse", "--short=12", "HEAD")
	if err != nil || out == "" {
		return "unknown"
	}
	if st, err := gitOutput(dir, "status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
		out += "-dirty"
	}
	return out
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}
