package conf

import (
	"sort"
	"strconv"
	"strings"
)

// pos is a place in the config file: 1-based line and byte column.
type pos struct {
	line, col int
}

// lines converts byte offsets of one document into positions.
type lines struct {
	starts []int // offset of the first byte of each line
}

func newLines(data []byte) *lines {
	l := &lines{starts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			l.starts = append(l.starts, i+1)
		}
	}
	return l
}

// at returns the position of byte offset off.
func (l *lines) at(off int) pos {
	i := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off }) - 1
	return pos{line: i + 1, col: off - l.starts[i] + 1}
}

// index maps key paths, as Error.Key spells them, to the position of their
// value in the file (for a table, of its key or header).
type index map[string]pos

// lookup returns the position of path, or of its closest ancestor present in
// the file: a key that was never written is reported where its table is.
func (ix index) lookup(path string) (pos, bool) {
	for path != "" {
		if p, ok := ix[path]; ok {
			return p, true
		}
		path = parentPath(path)
	}
	return pos{}, false
}

// parentPath strips the last element ("a.b[2]" → "a.b" → "a").
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	// A quoted last key may contain dots: skip over it.
	end := len(path)
	if strings.HasSuffix(path, `"`) {
		for i := len(path) - 2; i >= 0; i-- {
			if path[i] == '"' && (i == 0 || path[i-1] != '\\') {
				end = i
				break
			}
		}
	}
	if i := strings.LastIndexByte(path[:end], '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// joinKey appends key name to path, quoting the name when it is not a bare
// TOML key.
func joinKey(path, name string) string {
	if !isBareKey(name) {
		name = strconv.Quote(name)
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

// joinIndex appends an array index to path.
func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
