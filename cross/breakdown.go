package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// printBreakdown builds an unstripped linux/arm64 binary and sums its
// symbol sizes by module, to show where the bytes go. Symbols are only part
// of the file: the tables every function shares (pclntab, funcdata) are a
// bucket of their own, and data symbols are left out, so read the shares,
// not the totals.
func printBreakdown(w io.Writer, root, version, commit string) error {
	t, _ := lookupTarget("linux-arm64")
	tmp, err := os.MkdirTemp("", "cross-nm")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "wren")
	cmd := exec.Command("go", goBuild(bin, ldflags(version, commit, false))...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), t.env()...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build for breakdown: %v\n%s", err, msg)
	}
	out, err := exec.Command("go", "tool", "nm", "-size", bin).Output()
	if err != nil {
		return fmt.Errorf("go tool nm: %w", err)
	}
	sizes, total := sumByModule(strings.NewReader(string(out)))
	type row struct {
		mod  string
		size int64
	}
	var rows []row
	for m, s := range sizes {
		rows = append(rows, row{m, s})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].size > rows[j].size })
	fmt.Fprintf(w, "linux-arm64 code and read-only data by module (unstripped build, %d bytes of symbols):\n", total)
	fmt.Fprintf(w, "| module | bytes | share |\n| --- | ---: | ---: |\n")
	for _, r := range rows {
		if r.size*200 < total {
			continue // under 0.5%
		}
		fmt.Fprintf(w, "| %s | %d | %.1f%% |\n", r.mod, r.size, 100*float64(r.size)/float64(total))
	}
	return nil
}

// sumByModule reads "go tool nm -size" output and adds up symbol sizes per
// module.
func sumByModule(r io.Reader) (map[string]int64, int64) {
	sizes := map[string]int64{}
	var total int64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// address size type name; the name may contain spaces.
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n == 0 || !strings.Contains("TtRr", f[2]) {
			continue // only code and read-only data are in the file for sure
		}
		m := moduleOf(strings.Join(f[3:], " "))
		sizes[m] += n
		total += n
	}
	return sizes, total
}

// moduleOf names the module a symbol belongs to: "wren", a dependency's
// module path, "runtime", or "std" for the rest of the standard library.
func moduleOf(sym string) string {
	if strings.HasPrefix(sym, "go:func.") || strings.HasPrefix(sym, "runtime.") && strings.Contains(sym, "tab") {
		return "shared tables"
	}
	for _, p := range []string{"go:itab.", "go:string.", "type:.eq.", "type:", "go:"} {
		sym = strings.TrimPrefix(sym, p)
	}
	sym = strings.TrimLeft(sym, "*[]()0123456789")
	if i := strings.IndexAny(sym, "[ ,"); i >= 0 {
		sym = sym[:i]
	}
	pkg := sym
	slash := strings.LastIndex(sym, "/")
	if i := strings.Index(sym[slash+1:], "."); i >= 0 {
		pkg = sym[:slash+1+i]
	}
	elems := strings.Split(pkg, "/")
	switch {
	case strings.HasPrefix(pkg, "github.com/wrenmq/wren"):
		return "wren"
	case !strings.Contains(elems[0], "."):
		if pkg == "runtime" || strings.HasPrefix(pkg, "runtime/") || strings.HasPrefix(pkg, "internal/") || pkg == "" {
			return "runtime"
		}
		return "std"
	case len(elems) >= 3:
		return strings.Join(elems[:3], "/")
	default:
		return pkg
	}
}
