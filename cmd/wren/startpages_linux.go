package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dropStartPages takes the daemon's code and read-only data out of its page
// tables once it has started. Starting (flags, the config file, opening
// streams, package initialisation) runs code that is seldom needed again,
// and the kernel maps a whole 64 KiB around every page touched, so a
// started daemon holds most of its binary resident. The pages stay in the
// page cache: those that serving needs are mapped back on first use,
// without reading the disk, and the rest are left for the kernel to
// reclaim. Only read-only mappings of the executable are touched, so no
// data can be lost; where the binary has a RELRO segment (an externally
// linked or position-independent build), whose read-only pages hold what
// the dynamic loader wrote, only code is touched. It reports how many
// bytes of mappings it advised.
func dropStartPages() int64 {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	codeOnly := hasRelro(exe)
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lo, hi, ok := readOnlyMapping(sc.Text(), exe, codeOnly)
		if !ok {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, syscall.MADV_DONTNEED); e == 0 {
			n += int64(hi - lo)
		}
	}
	return n
}

// readOnlyMapping parses one line of /proc/self/maps and reports the range
// of a private mapping of file exe that cannot be written (and, with
// codeOnly, is executable).
func readOnlyMapping(line, exe string, codeOnly bool) (lo, hi uintptr, ok bool) {
	fs := strings.Fields(line)
	if len(fs) < 6 || strings.Join(fs[5:], " ") != exe {
		return 0, 0, false
	}
	if perm := fs[1]; len(perm) != 4 || perm[1] != '-' || perm[3] != 'p' || (codeOnly && perm[2] != 'x') {
		return 0, 0, false
	}
	a, b, found := strings.Cut(fs[0], "-")
	if !found {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(a, 16, 64)
	h, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || h <= l {
		return 0, 0, false
	}
	return uintptr(l), uintptr(h), true
}

// hasRelro reports whether the ELF file exe has a PT_GNU_RELRO segment,
// reading its program headers (32- or 64-bit, either byte order); true
// when they cannot be read, which keeps to the safe side.
func hasRelro(exe string) bool {
	f, err := os.Open(exe)
	if err != nil {
		return true
	}
	defer f.Close()
	var h [0x40]byte
	if _, err := f.ReadAt(h[:], 0); err != nil || string(h[:4]) != "\x7fELF" {
		return true
	}
	big := h[5] == 2
	// u reads an unsigned integer of n bytes at b in the file's byte order.
	u := func(b []byte, n int) uint64 {
		var v uint64
		for i := range n {
			if big {
				v = v<<8 | uint64(b[i])
			} else {
				v |= uint64(b[i]) << (8 * i)
			}
		}
		return v
	}
	var off uint64
	var size, num int
	if h[4] == 2 { // 64-bit
		off, size, num = u(h[0x20:], 8), int(u(h[0x36:], 2)), int(u(h[0x38:], 2))
	} else {
		off, size, num = u(h[0x1c:], 4), int(u(h[0x2a:], 2)), int(u(h[0x2c:], 2))
	}
	if size < 4 || num > 256 || off > 1<<30 {
		return true
	}
	ph := make([]byte, size*num)
	if _, err := f.ReadAt(ph, int64(off)); err != nil {
		return true
	}
	const ptGNURelro = 0x6474e552
	for at := 0; at < len(ph); at += size {
		if u(ph[at:], 4) == ptGNURelro {
			return true
		}
	}
	return false
}
