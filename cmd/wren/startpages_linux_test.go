package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadOnlyMapping(t *testing.T) {
	const exe = "/usr/bin/wren"
	tests := []struct {
		line   string
		wok    bool
		wlo    uintptr
		whi    uintptr
		reason string
	}{
		{"00400000-0080c000 r-xp 00000000 fe:00 99 /usr/bin/wren", true, 0x400000, 0x80c000, "code"},
		{"0080c000-00c07000 r--p 0040c000 fe:00 99 /usr/bin/wren", true, 0x80c000, 0xc07000, "read-only data"},
		{"00c07000-00c3e000 rw-p 00807000 fe:00 99 /usr/bin/wren", false, 0, 0, "writable data"},
		{"00c07000-00c3e000 r--s 00807000 fe:00 99 /usr/bin/wren", false, 0, 0, "shared"},
		{"7f0000000000-7f0000001000 r-xp 00000000 fe:00 12 /usr/lib/libc.so", false, 0, 0, "another file"},
		{"7f0000000000-7f0000001000 r--p 00000000 00:00 0", false, 0, 0, "anonymous"},
		{"00400000-00400000 r-xp 00000000 fe:00 99 /usr/bin/wren", false, 0, 0, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			lo, hi, ok := readOnlyMapping(tt.line, exe, false)
			if ok != tt.wok || lo != tt.wlo || hi != tt.whi {
				t.Errorf("readOnlyMapping(%q) = %#x, %#x, %v; want %#x, %#x, %v", tt.line, lo, hi, ok, tt.wlo, tt.whi, tt.wok)
			}
		})
	}
}

// Where the binary has a RELRO segment only its code is advised: the
// loader wrote to the read-only data mapped there.
func TestReadOnlyMappingCodeOnly(t *testing.T) {
	const exe = "/usr/bin/wren"
	if _, _, ok := readOnlyMapping("00400000-0080c000 r-xp 00000000 fe:00 99 /usr/bin/wren", exe, true); !ok {
		t.Error("code mapping refused with codeOnly")
	}
	if _, _, ok := readOnlyMapping("0080c000-00c07000 r--p 0040c000 fe:00 99 /usr/bin/wren", exe, true); ok {
		t.Error("read-only data mapping taken with codeOnly")
	}
}

// hasRelro tells a RELRO segment from its absence: Go's linker writes
// none into a static binary and one into a position-independent one.
func TestHasRelro(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644)
	for _, c := range []struct {
		name  string
		flags []string
		want  bool
	}{
		{"static", nil, false},
		{"pie", []string{"-buildmode=pie"}, true},
	} {
		out := filepath.Join(dir, c.name)
		cmd := exec.Command("go", append(append([]string{"build", "-o", out}, c.flags...), src)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c.name, err, b)
		}
		if got := hasRelro(out); got != c.want {
			t.Errorf("hasRelro(%s build) = %v; want %v", c.name, got, c.want)
		}
	}
	if !hasRelro(filepath.Join(dir, "missing")) {
		t.Error("an unreadable file must count as having RELRO")
	}
}

// The 32-bit big-endian layout (mips) is read as well: a header with
// program headers of a LOAD and, in the second file, a PT_GNU_RELRO.
func TestHasRelroELF32BigEndian(t *testing.T) {
	elf := func(types ...uint32) []byte {
		const phoff, phsize = 0x34, 0x20
		b := make([]byte, phoff+phsize*len(types))
		copy(b, "\x7fELF")
		b[4], b[5] = 1, 2 // 32-bit, big-endian
		binary.BigEndian.PutUint32(b[0x1c:], phoff)
		binary.BigEndian.PutUint16(b[0x2a:], phsize)
		binary.BigEndian.PutUint16(b[0x2c:], uint16(len(types)))
		for i, typ := range types {
			binary.BigEndian.PutUint32(b[phoff+phsize*i:], typ)
		}
		return b
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		types []uint32
		want  bool
	}{
		{"load", []uint32{1, 1}, false},
		{"relro", []uint32{1, 0x6474e552}, true},
	} {
		p := filepath.Join(dir, c.name)
		os.WriteFile(p, elf(c.types...), 0o644)
		if got := hasRelro(p); got != c.want {
			t.Errorf("hasRelro(%s) = %v; want %v", c.name, got, c.want)
		}
	}
}

// After start the process holds far fewer pages of its binary; the code it
// runs next is mapped back as it is used.
func TestDropStartPagesLeavesLessOfTheBinaryResident(t *testing.T) {
	before := rssFileKB(t)
	n := dropStartPages()
	after := rssFileKB(t)
	if n == 0 {
		t.Fatal("dropStartPages found no read-only mapping of the executable")
	}
	if after > before/2 {
		t.Errorf("RssFile %d kB before, %d kB after dropping %d bytes of mappings; want at most half", before, after, n)
	}
}

func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
