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
// data can be lost. It reports how many bytes of mappings it advised.
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
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lo, hi, ok := readOnlyMapping(sc.Text(), exe)
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
// of a private mapping of file exe that cannot be written.
func readOnlyMapping(line, exe string) (lo, hi uintptr, ok bool) {
	fs := strings.Fields(line)
	if len(fs) < 6 || strings.Join(fs[5:], " ") != exe {
		return 0, 0, false
	}
	if perm := fs[1]; len(perm) != 4 || perm[1] != '-' || perm[3] != 'p' {
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
