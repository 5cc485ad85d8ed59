package main

import (
	"fmt"
	"strings"
)

// MB is the unit the budgets are written in: a decimal megabyte, the
// stricter reading of "8 MB".
const MB = 1000 * 1000

// target is one platform a release binary is built for.
type target struct {
	name   string // as in the file name: linux-armv6, windows-amd64, ...
	goos   string
	goarch string
	goarm  string // GOARM for linux/arm
	gomips string // GOMIPS for linux/mips and linux/mipsle
	budget int64  // largest acceptable stripped size in bytes
	// qemu runs the binary on this machine for the smoke test: the
	// qemu-user program and the CPU model it emulates. An empty qemu
	// means the target is not smoke-tested; "-" means it runs natively
	// on a linux/amd64 host.
	qemu, cpu string
	smoke     bool // part of the default smoke set
}

// targets are the release platforms. linux/arm64 carries the design
// budget (8 MB). Go code is larger or smaller per instruction set, so each
// other target's budget is that budget scaled by how this binary's size on
// that target compares with arm64 (measured: amd64 +9%, 32-bit arm +5%,
// mips +19%, riscv64 -4%, darwin/arm64 +3%, darwin/amd64 +11%,
// windows/amd64 +12%), rounded up to half a megabyte. A target that grows
// past its budget grew for the same reason arm64 would.
var targets = []target{
	{name: "linux-amd64", goos: "linux", goarch: "amd64", budget: 9 * MB, qemu: "-"},
	{name: "linux-arm64", goos: "linux", goarch: "arm64", budget: 8 * MB,
		qemu: "qemu-aarch64-static", cpu: "cortex-a53", smoke: true},
	{name: "linux-armv7", goos: "linux", goarch: "arm", goarm: "7", budget: 8.5 * MB,
		qemu: "qemu-arm-static", cpu: "cortex-a7", smoke: true},
	{name: "linux-armv6", goos: "linux", goarch: "arm", goarm: "6", budget: 8.5 * MB,
		qemu: "qemu-arm-static", cpu: "arm1176", smoke: true},
	{name: "linux-mips-softfloat", goos: "linux", goarch: "mips", gomips: "softfloat", budget: 9.5 * MB,
		qemu: "qemu-mips-static", cpu: "24Kc", smoke: true},
	{name: "linux-mipsle-softfloat", goos: "linux", goarch: "mipsle", gomips: "softfloat", budget: 9.5 * MB,
		qemu: "qemu-mipsel-static", cpu: "24Kc", smoke: true},
	{name: "linux-riscv64", goos: "linux", goarch: "riscv64", budget: 8 * MB,
		qemu: "qemu-riscv64-static", cpu: "rv64"},
	{name: "darwin-amd64", goos: "darwin", goarch: "amd64", budget: 9 * MB},
	{name: "darwin-arm64", goos: "darwin", goarch: "arm64", budget: 8.5 * MB},
	{name: "windows-amd64", goos: "windows", goarch: "amd64", budget: 9 * MB},
}

// wrongCPU pairs a build with a CPU that must refuse it, to prove the smoke
// test's CPU pinning is real: a GOARM=7 binary cannot run on an ARMv6 core.
var wrongCPU = []struct{ target, cpu string }{
	{"linux-armv7", "arm1176"},
}

// env is the build environment for t, on top of the caller's.
func (t target) env() []string {
	e := []string{"CGO_ENABLED=0", "GOOS=" + t.goos, "GOARCH=" + t.goarch}
	if t.goarm != "" {
		e = append(e, "GOARM="+t.goarm)
	}
	if t.gomips != "" {
		e = append(e, "GOMIPS="+t.gomips)
	}
	return e
}

// file is the binary's file name for a release version.
func (t target) file(version string) string {
	f := "wren-" + version + "-" + t.name
	if t.goos == "windows" {
		f += ".exe"
	}
	return f
}

// selectTargets resolves a comma-separated list of target names; "all" is
// every target and "smoke" the default smoke set.
func selectTargets(list string) ([]target, error) {
	var out []target
	seen := map[string]bool{}
	add := func(t target) {
		if !seen[t.name] {
			seen[t.name] = true
			out = append(out, t)
		}
	}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch n {
		case "":
		case "all":
			for _, t := range targets {
				add(t)
			}
		case "smoke":
			for _, t := range targets {
				if t.smoke {
					add(t)
				}
			}
		default:
			t, ok := lookupTarget(n)
			if !ok {
				return nil, fmt.Errorf("unknown target %q (known: %s)", n, targetNames())
			}
			add(t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets selected (known: %s)", targetNames())
	}
	return out, nil
}

func lookupTarget(name string) (target, bool) {
	for _, t := range targets {
		if t.name == name {
			return t, true
		}
	}
	return target{}, false
}

func targetNames() string {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.name
	}
	return strings.Join(names, ", ")
}
