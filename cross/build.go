package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// built is one binary the build made.
type built struct {
	t       target
	path    string
	size    int64
	sum     string
	elapsed time.Duration
}

func (b built) over() bool { return b.size > b.t.budget }

type buildOpts struct {
	targets          string
	out              string
	version, commit  string
	compare          bool
	breakdown        bool
	natsServerModDir string
}

func runBuild(args []string, w io.Writer) error {
	var o buildOpts
	fs := flag.NewFlagSet("cross build", flag.ContinueOnError)
	fs.StringVar(&o.targets, "targets", "all", `comma-separated targets, "all" or "smoke" (see "go run ./cross targets")`)
	fs.StringVar(&o.out, "out", "dist", "output directory, relative to the repository root")
	fs.StringVar(&o.version, "version", "", "version to stamp (default: server.Version)")
	fs.StringVar(&o.commit, "commit", "", "commit to stamp (default: git rev-parse HEAD)")
	fs.BoolVar(&o.compare, "compare", false, "also build nats-server for linux/arm64 the same way, from the module cache, for the size table")
	fs.BoolVar(&o.breakdown, "breakdown", false, "print how much of the linux/arm64 binary each module takes")
	fs.StringVar(&o.natsServerModDir, "nats-server-src", "", "nats-server module source for -compare (default: newest in GOMODCACHE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, ts, err := prepare(o.targets, &o.version)
	if err != nil {
		return err
	}
	if o.commit == "" {
		o.commit = gitCommit(root)
	}
	out := o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(w, "building wren %s (commit %s) for %d targets into %s\n", o.version, o.commit, len(ts), out)
	start := time.Now()
	var bs []built
	for _, t := range ts {
		b, err := buildOne(root, out, t, o.version, o.commit)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-24s %9d bytes  %5.1fs\n", t.name, b.size, b.elapsed.Seconds())
		bs = append(bs, b)
	}
	sums := filepath.Join(out, "wren-"+o.version+"-SHA256SUMS")
	if err := writeChecksums(sums, bs); err != nil {
		return err
	}
	fmt.Fprintf(w, "checksums: %s\n", sums)
	fmt.Fprintf(w, "built in %.1fs\n\n", time.Since(start).Seconds())

	var ref *reference
	if o.compare {
		r, err := buildNATSServer(o.natsServerModDir)
		if err != nil {
			fmt.Fprintf(w, "note: no nats-server comparison: %v\n\n", err)
		} else {
			ref = r
		}
	}
	printSizeTable(w, bs, ref)
	if o.breakdown {
		fmt.Fprintln(w)
		if err := printBreakdown(w, root, o.version, o.commit); err != nil {
			return err
		}
	}
	var over []string
	for _, b := range bs {
		if b.over() {
			over = append(over, fmt.Sprintf("%s is %d bytes, budget %d", b.t.name, b.size, b.t.budget))
		}
	}
	if len(over) > 0 {
		return fmt.Errorf("over budget: %s", strings.Join(over, "; "))
	}
	return nil
}

// coldInline turns inlining off in the packages that run once or only at
// an operator's command (flags, config and its TOML parser, wiring, the
// CLI and its client): their speed does not matter and inlined copies
// cost the binary bytes.
// The broker, the auth layer and the stream layer keep the compiler's
// default.
var coldInline = []string{
	"-gcflags", "github.com/wrenmq/wren/cmd/...=-l",
	"-gcflags", "github.com/wrenmq/wren/conf=-l",
	"-gcflags", "github.com/pelletier/go-toml/v2/...=-l",
}

// goBuild is the go build command line for ./cmd/wren into bin, with
// the release binary's compiler and linker flags.
func goBuild(bin, ldflags string) []string {
	a := []string{"build", "-trimpath", "-buildvcs=false"}
	a = append(a, coldInline...)
	return append(a, "-ldflags", ldflags, "-o", bin, "./cmd/wren")
}

// ldflags strips the symbol table and DWARF and stamps the version.
func ldflags(version, commit string, strip bool) string {
	f := []string{
		"-X", "github.com/wrenmq/wren/server.Version=" + version,
		"-X", "github.com/wrenmq/wren/server.Commit=" + commit,
		"-X", "main.commit=" + commit,
	}
	if strip {
		f = append([]string{"-s", "-w"}, f...)
	}
	return strings.Join(f, " ")
}

func buildOne(root, out string, t target, version, commit string) (built, error) {
	b := built{t: t, path: filepath.Join(out, t.file(version))}
	start := time.Now()
	cmd := exec.Command("go", goBuild(b.path, ldflags(version, commit, true))...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), t.env()...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return b, fmt.Errorf("build %s: %v\n%s", t.name, err, msg)
	}
	b.elapsed = time.Since(start)
	var err error
	if b.size, b.sum, err = hashFile(b.path); err != nil {
		return b, err
	}
	return b, nil
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeChecksums writes a file that "sha256sum -c" accepts, run from the
// output directory.
func writeChecksums(path string, bs []built) error {
	var sb strings.Builder
	for _, b := range bs {
		fmt.Fprintf(&sb, "%s  %s\n", b.sum, filepath.Base(b.path))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// reference is nats-server built for linux/arm64 with the same flags.
type reference struct {
	version string
	size    int64
}

func printSizeTable(w io.Writer, bs []built, ref *reference) {
	fmt.Fprintf(w, "| target | bytes | MB | budget | |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | --- |\n")
	for _, b := range bs {
		verdict := "ok"
		if b.over() {
			verdict = "OVER"
		}
		fmt.Fprintf(w, "| %s | %d | %.2f | %.1f MB | %s |\n", b.t.name, b.size, float64(b.size)/MB, float64(b.t.budget)/MB, verdict)
	}
	if ref != nil {
		line := fmt.Sprintf("| nats-server %s linux-arm64 (reference) | %d | %.2f | | |", ref.version, ref.size, float64(ref.size)/MB)
		for _, b := range bs {
			if b.t.name == "linux-arm64" {
				line = fmt.Sprintf("%s wren is %.0f%% of it |", strings.TrimSuffix(line, " |"), 100*float64(b.size)/float64(ref.size))
			}
		}
		fmt.Fprintln(w, line)
	}
}

// buildNATSServer builds the reference server for linux/arm64 from its
// module source in the module cache, stripped and static like ours, into a
// temporary file; it is measured and deleted, never kept.
func buildNATSServer(src string) (*reference, error) {
	if src == "" {
		cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			return nil, err
		}
		dirs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(cache)), "github.com", "nats-io", "nats-server", "v2@v*"))
		if len(dirs) == 0 {
			return nil, errors.New("nats-server source is not in the module cache")
		}
		sort.Strings(dirs)
		src = dirs[len(dirs)-1]
	}
	tmp, err := os.MkdirTemp("", "cross-ref")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "nats-server")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=-mod=mod", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build nats-server: %v\n%s", err, msg)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return nil, err
	}
	version := filepath.Base(src)
	if i := strings.LastIndex(version, "@"); i >= 0 {
		version = version[i+1:]
	}
	return &reference{version: version, size: st.Size()}, nil
}
