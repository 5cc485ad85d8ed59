package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteChecksums(t *testing.T) {
	dir := t.TempDir()
	var bs []built
	for _, name := range []string{"wren-1.0.0-linux-arm64", "wren-1.0.0-linux-armv6"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o755); err != nil {
			t.Fatal(err)
		}
		size, sum, err := hashFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if size != int64(len(name)) {
			t.Errorf("hashFile size = %d; want %d", size, len(name))
		}
		bs = append(bs, built{path: p, size: size, sum: sum})
	}
	sums := filepath.Join(dir, "wren-1.0.0-SHA256SUMS")
	if err := writeChecksums(sums, bs); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("checksum file has %d lines; want 2:\n%s", len(lines), got)
	}
	for i, l := range lines {
		sum, name, ok := strings.Cut(l, "  ")
		if !ok || len(sum) != 64 || name != filepath.Base(bs[i].path) || sum != bs[i].sum {
			t.Errorf("line %d = %q; want \"<sha256>  %s\"", i, l, filepath.Base(bs[i].path))
		}
	}
	if sha, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sha, "-c", filepath.Base(sums))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}

func TestSizeTable(t *testing.T) {
	arm64, _ := lookupTarget("linux-arm64")
	v6, _ := lookupTarget("linux-armv6")
	bs := []built{{t: arm64, size: 7_500_000}, {t: v6, size: v6.budget + 1}}
	var b bytes.Buffer
	printSizeTable(&b, bs, &reference{version: "v2.15.2", size: 15_000_000})
	out := b.String()
	for _, want := range []string{
		"| linux-arm64 | 7500000 | 7.50 | 8.0 MB | ok |",
		"| linux-armv6 | 8500001 | 8.50 | 8.5 MB | OVER |",
		"nats-server v2.15.2 linux-arm64 (reference) | 15000000 | 15.00 | | wren is 50% of it |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("size table lacks %q:\n%s", want, out)
		}
	}
	if !bs[1].over() || bs[0].over() {
		t.Errorf("over() = %v, %v; want false, true", bs[0].over(), bs[1].over())
	}
}

func TestLdflags(t *testing.T) {
	got := ldflags("1.2.3", "abc123", true)
	for _, want := range []string{"-s -w ", "-X github.com/wrenmq/wren/server.Version=1.2.3", "-X main.commit=abc123"} {
		if !strings.Contains(got, want) {
			t.Errorf("ldflags = %q; lacks %q", got, want)
		}
	}
	if strings.Contains(ldflags("1", "c", false), "-s") {
		t.Error("unstripped ldflags strip")
	}
}

// TestBuildStaticStripped builds the linux/amd64 release binary the way
// "cross build" does and checks what the release promises: static, no
// symbol table, the version stamped, and --version naming the target.
func TestBuildStaticStripped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := lookupTarget("linux-amd64")
	b, err := buildOne(root, t.TempDir(), tg, "9.8.7-test", "feedface")
	if err != nil {
		t.Fatal(err)
	}
	if b.size > tg.budget {
		t.Errorf("linux-amd64 binary is %d bytes; budget %d", b.size, tg.budget)
	}
	f, err := elf.Open(b.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary is dynamically linked (program header %v)", p.Type)
		}
	}
	for _, name := range []string{".symtab", ".debug_info"} {
		if f.Section(name) != nil {
			t.Errorf("binary has %s: not stripped", name)
		}
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return
	}
	out, err := exec.Command(b.path, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	for _, want := range []string{"9.8.7-test", "feedface", runtime.Version(), "linux/amd64"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--version = %q; lacks %q", out, want)
		}
	}
}

// TestColdInlineSparesHotPackages checks that the release build turns
// inlining off only in the CLI, wiring and config packages.
func TestColdInlineSparesHotPackages(t *testing.T) {
	args := strings.Join(goBuild("/tmp/wren", ldflags("1", "c", true)), " ")
	for _, want := range []string{"-gcflags github.com/wrenmq/wren/cmd/...=-l", "-gcflags github.com/wrenmq/wren/conf=-l", "-gcflags github.com/pelletier/go-toml/v2/...=-l", "-o /tmp/wren ./cmd/wren"} {
		if !strings.Contains(args, want) {
			t.Errorf("go %s lacks %q", args, want)
		}
	}
	a := goBuild("/tmp/wren", "")
	for i, v := range a {
		if v != "-gcflags" || i+1 == len(a) {
			continue
		}
		for _, hot := range []string{"/server", "/jetstore", "/protocol", "/auth", "all="} {
			if strings.Contains(a[i+1], hot) {
				t.Errorf("-gcflags %s turns off inlining in %s", a[i+1], hot)
			}
		}
	}
}
