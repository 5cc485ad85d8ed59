package conf

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// decoder fills a Config from a document tree, strictly: every key must be in
// the schema and every value of the right type. It collects all problems
// rather than stopping at the first, and records where each key was written
// so that Validate's findings can be placed in the file.
type decoder struct {
	file  string
	errs  ErrorList
	index index
}

func (d *decoder) fail(at pos, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: at.line, Column: at.col, Key: path, Msg: fmt.Sprintf(format, args...)})
}

// mismatch reports a value of the wrong type.
func (d *decoder) mismatch(n *node, path string, want reflect.Type) {
	d.fail(n.at, path, "expected %s, got %s", expected(want), describe(n))
}

var (
	sizeType     = reflect.TypeFor[Size]()
	durationType = reflect.TypeFor[Duration]()
	rulesType    = reflect.TypeFor[SubjectRules]()
	responseType = reflect.TypeFor[*ResponsePermission]()
)

// expected describes what a value of type t looks like in the file.
func expected(t reflect.Type) string {
	switch t {
	case sizeType:
		return `a size such as "64MB" or "512KB", or a number of bytes`
	case durationType:
		return `a duration such as "2m" or "500ms", or a number of seconds`
	case rulesType:
		return "a list of subjects, or a table with allow and deny lists"
	case responseType:
		return "true, false, or a table with max and expires"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Pointer:
		return "a table"
	}
	return t.String()
}

// describe names the type and value of n for an error message.
func describe(n *node) string {
	switch n.kind {
	case tableNode:
		return "a table"
	case arrayNode:
		return "an array"
	}
	switch n.typ {
	case unstable.String:
		return "string " + strconv.Quote(n.text)
	case unstable.Integer:
		return "integer " + n.text
	case unstable.Float:
		return "float " + n.text
	case unstable.Bool:
		return "boolean " + n.text
	}
	return "a date or time"
}

// decode stores n into v, whose key path is path.
func (d *decoder) decode(v reflect.Value, n *node, path string) {
	d.index[path] = n.at
	switch v.Type() {
	case sizeType:
		d.size(v, n, path)
		return
	case durationType:
		d.duration(v, n, path)
		return
	case rulesType:
		d.rules(v, n, path)
		return
	case responseType:
		d.response(v, n, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.table(v, n, path)
	case reflect.Pointer:
		if n.kind != tableNode {
			d.mismatch(n, path, v.Type())
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(v.Elem(), n, path)
	case reflect.Slice:
		d.slice(v, n, path)
	case reflect.String:
		if n.kind != scalarNode || n.typ != unstable.String {
			d.mismatch(n, path, v.Type())
			return
		}
		v.SetString(n.text)
	case reflect.Bool:
		if n.kind != scalarNode || n.typ != unstable.Bool {
			d.mismatch(n, path, v.Type())
			return
		}
		v.SetBool(n.text == "true")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind != scalarNode || n.typ != unstable.Integer {
			d.mismatch(n, path, v.Type())
			return
		}
		i, err := strconv.ParseInt(n.text, 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.fail(n.at, path, "integer %s is out of range", n.text)
			return
		}
		v.SetInt(i)
	default:
		panic("conf: no decoder for " + v.Type().String())
	}
}

// table decodes the keys of table n into the fields of struct v.
func (d *decoder) table(v reflect.Value, n *node, path string) {
	if n.kind != tableNode {
		d.mismatch(n, path, v.Type())
		return
	}
	fields := fieldsOf(v.Type())
	var set map[int]string // fields decoded, by the key that set them
	for _, name := range n.names {
		kid := n.kids[name]
		kpath := joinKey(path, name)
		i, ok := fields[name]
		if !ok {
			d.fail(kid.key, kpath, "unknown key%s", suggest(name, fields))
			continue
		}
		if other, dup := set[i]; dup {
			d.fail(kid.key, kpath, "is the same setting as %s, set already", joinKey(path, other))
			continue
		}
		if set == nil {
			set = make(map[int]string, len(n.names))
		}
		set[i] = name
		d.decode(v.Field(i), kid, kpath)
	}
}

// slice decodes array n into slice v. An empty array leaves v nil.
func (d *decoder) slice(v reflect.Value, n *node, path string) {
	if n.kind != arrayNode {
		d.mismatch(n, path, v.Type())
		return
	}
	if len(n.elems) == 0 {
		v.SetZero()
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.elems), len(n.elems))
	for i, e := range n.elems {
		d.decode(s.Index(i), e, joinIndex(path, i))
	}
	v.Set(s)
}

func (d *decoder) size(v reflect.Value, n *node, path string) {
	switch {
	case n.kind == scalarNode && n.typ == unstable.Integer:
		i, err := strconv.ParseInt(n.text, 0, 64)
		if err != nil {
			d.fail(n.at, path, "integer %s is out of range", n.text)
			return
		}
		v.SetInt(i)
	case n.kind == scalarNode && n.typ == unstable.String:
		s, err := ParseSize(n.text)
		if err != nil {
			d.fail(n.at, path, "invalid size %q: %v", n.text, err)
			return
		}
		v.SetInt(int64(s))
	default:
		d.mismatch(n, path, v.Type())
	}
}

func (d *decoder) duration(v reflect.Value, n *node, path string) {
	var (
		t   Duration
		err error
	)
	switch {
	case n.kind == scalarNode && n.typ == unstable.Integer:
		var i int64
		if i, err = strconv.ParseInt(n.text, 0, 64); err == nil {
			t, err = secondsToDuration(float64(i))
		}
	case n.kind == scalarNode && n.typ == unstable.Float:
		var f float64
		if f, err = strconv.ParseFloat(strings.ReplaceAll(n.text, "_", ""), 64); err == nil {
			t, err = secondsToDuration(f)
		}
	case n.kind == scalarNode && n.typ == unstable.String:
		if t, err = ParseDuration(n.text); err != nil {
			d.fail(n.at, path, "invalid duration %q: %v", n.text, err)
			return
		}
	default:
		d.mismatch(n, path, v.Type())
		return
	}
	if err != nil {
		d.fail(n.at, path, "duration %s is out of range", n.text)
		return
	}
	v.SetInt(int64(t))
}

// rules decodes SubjectRules from a table {allow, deny} or from the short
// form, a plain list that is the allow list.
func (d *decoder) rules(v reflect.Value, n *node, path string) {
	if n.kind != arrayNode {
		d.table(v, n, path)
		return
	}
	allow := joinKey(path, "allow")
	d.decode(v.FieldByName("Allow"), n, allow)
	// Validate names allow[i]: place it on the short form's elements.
	for i, e := range n.elems {
		d.index[joinIndex(allow, i)] = e.at
	}
}

// response decodes AllowResponses from a boolean or a table.
func (d *decoder) response(v reflect.Value, n *node, path string) {
	switch {
	case n.kind == scalarNode && n.typ == unstable.Bool:
		if n.text == "true" {
			v.Set(reflect.ValueOf(&ResponsePermission{Max: DefaultResponseMax, Expires: DefaultResponseExpires}))
		} else {
			v.SetZero()
		}
	case n.kind == tableNode:
		r := &ResponsePermission{}
		d.table(reflect.ValueOf(r).Elem(), n, path)
		// As in nats-server: a missing or zero value takes the default,
		// a negative one means no limit.
		if r.Max == 0 {
			r.Max = DefaultResponseMax
		}
		if r.Expires == 0 {
			r.Expires = DefaultResponseExpires
		}
		v.Set(reflect.ValueOf(r))
	default:
		d.mismatch(n, path, v.Type())
	}
}

// fieldsOf maps the toml tag names of struct type t to field indexes. A
// field may also take another spelling, nats-server's, named by an alias
// tag: `toml:"compression" alias:"compress"`.
func fieldsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := tagName(t.Field(i)); name != "" {
			m[name] = i
			if a := t.Field(i).Tag.Get("alias"); a != "" {
				m[a] = i
			}
		}
	}
	return m
}

// tagName returns the key of a struct field in the file, or "" if the field
// has none.
func tagName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// suggest returns a hint naming the known key closest to an unknown one, if
// one is close enough to be a likely typo.
func suggest(name string, fields map[string]int) string {
	best, bestDist := "", 3
	for k := range fields {
		if dist := editDistance(strings.ToLower(name), k); dist < bestDist || dist == bestDist && k < best {
			best, bestDist = k, dist
		}
	}
	if best == "" || bestDist > len(name)/2 {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
