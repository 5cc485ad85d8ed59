package main

import (
	"slices"
	"strings"
	"testing"
)

func TestSelectTargets(t *testing.T) {
	tests := []struct {
		list    string
		want    []string
		wantErr bool
	}{
		{"linux-arm64", []string{"linux-arm64"}, false},
		{"linux-armv6, linux-armv7", []string{"linux-armv6", "linux-armv7"}, false},
		{"smoke", []string{"linux-arm64", "linux-armv7", "linux-armv6", "linux-mips-softfloat", "linux-mipsle-softfloat"}, false},
		{"linux-arm64,smoke", []string{"linux-arm64", "linux-armv7", "linux-armv6", "linux-mips-softfloat", "linux-mipsle-softfloat"}, false},
		{"all", nil, false},
		{"linux-arm", nil, true},
		{"", nil, true},
		{" , ", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			ts, err := selectTargets(tt.list)
			if (err != nil) != tt.wantErr {
				t.Fatalf("selectTargets(%q) error = %v; want error %v", tt.list, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			var got []string
			for _, x := range ts {
				got = append(got, x.name)
			}
			if tt.list == "all" {
				if len(got) != len(targets) {
					t.Fatalf("all = %d targets; want %d", len(got), len(targets))
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("selectTargets(%q) = %v; want %v", tt.list, got, tt.want)
			}
		})
	}
}

func TestTargetTable(t *testing.T) {
	required := []string{"linux-amd64", "linux-arm64", "linux-armv6", "linux-armv7",
		"linux-mips-softfloat", "linux-mipsle-softfloat", "linux-riscv64",
		"darwin-amd64", "darwin-arm64", "windows-amd64"}
	for _, n := range required {
		if _, ok := lookupTarget(n); !ok {
			t.Errorf("target %s missing", n)
		}
	}
	seen := map[string]bool{}
	for _, tg := range targets {
		if seen[tg.name] {
			t.Errorf("target %s listed twice", tg.name)
		}
		seen[tg.name] = true
		if tg.budget <= 0 {
			t.Errorf("%s has no budget", tg.name)
		}
		if tg.smoke && (tg.qemu == "" || tg.qemu == "-" || tg.cpu == "") {
			t.Errorf("%s is in the smoke set without an emulator and a pinned CPU", tg.name)
		}
		env := strings.Join(tg.env(), " ")
		if !strings.Contains(env, "CGO_ENABLED=0") {
			t.Errorf("%s builds with cgo: %s", tg.name, env)
		}
		if tg.goarch == "arm" && tg.goarm == "" {
			t.Errorf("%s: GOARM not pinned", tg.name)
		}
		if (tg.goarch == "mips" || tg.goarch == "mipsle") && tg.gomips != "softfloat" {
			t.Errorf("%s: want GOMIPS=softfloat, have %q", tg.name, tg.gomips)
		}
	}
	arm64, _ := lookupTarget("linux-arm64")
	if arm64.budget != 8*MB {
		t.Errorf("linux-arm64 budget = %d; want the design's 8 MB", arm64.budget)
	}
	v6, _ := lookupTarget("linux-armv6")
	if v6.cpu != "arm1176" || !slices.Contains(v6.env(), "GOARM=6") {
		t.Errorf("linux-armv6 must be GOARM=6 on an ARMv6 core: %+v", v6)
	}
}

func TestTargetFile(t *testing.T) {
	tests := []struct{ target, version, want string }{
		{"linux-arm64", "1.2.3", "wren-1.2.3-linux-arm64"},
		{"linux-armv6", "0.1.0-dev", "wren-0.1.0-dev-linux-armv6"},
		{"windows-amd64", "1.2.3", "wren-1.2.3-windows-amd64.exe"},
	}
	for _, tt := range tests {
		tg, _ := lookupTarget(tt.target)
		if got := tg.file(tt.version); got != tt.want {
			t.Errorf("%s.file(%q) = %q; want %q", tt.target, tt.version, got, tt.want)
		}
	}
}

func TestWrongCPUPairs(t *testing.T) {
	for _, wc := range wrongCPU {
		tg, ok := lookupTarget(wc.target)
		if !ok {
			t.Fatalf("wrongCPU names unknown target %s", wc.target)
		}
		if wc.cpu == tg.cpu {
			t.Errorf("%s: the refusing CPU is the one it is smoke-tested on", wc.target)
		}
	}
}
