package conf

import "reflect"

// Locate places each error of errs that has no position yet at its key in
// the config file name, whose contents are data: the checks a daemon makes
// beyond the file (a store directory it cannot write, a port in use) are
// then reported as file:line:column like the file's own errors. A file
// that does not parse leaves errs as they are.
func Locate(name string, data []byte, errs ErrorList) {
	root, err := buildTree(data)
	if err != nil {
		return
	}
	d := &decoder{file: name, index: index{}}
	d.decode(reflect.ValueOf(Default()).Elem(), root, "")
	for _, e := range errs {
		if e.Line > 0 || e.File != name {
			continue
		}
		if p, ok := d.index.lookup(e.Key); ok {
			e.Line, e.Column = p.line, p.col
		}
	}
}
