package conf

import (
	_ "embed"
	"errors"
	"os"
	"reflect"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// DefaultTOML is the configuration wren runs with when it is given no
// config file. It parses to exactly Default().
//
//go:embed default.toml
var DefaultTOML []byte

// Load reads and parses the config file at path. See Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a config file named name (used in error messages) whose
// contents are data. Keys that are missing keep their Default values.
//
// Parsing is strict: a syntax error, an unknown key, a value of the wrong
// type, or a value that Validate rejects is an error. The error is an
// ErrorList with one Error per problem, each placed at the file's line and
// column ("wren.toml:12:15: limits.max_payload: …"). A syntax error stops
// parsing, so it is reported alone; otherwise every decoding error and
// every validation error of the keys that decoded is reported, up to 20,
// so one run names every mistake.
func Parse(name string, data []byte) (*Config, error) {
	// go-toml checks the document is valid TOML: its grammar, and the rules
	// about defining keys and tables once.
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, ErrorList{syntaxError(name, err)}
	}
	root, err := buildTree(data)
	if err != nil {
		return nil, ErrorList{{File: name, Msg: err.Error()}}
	}
	c := Default()
	d := &decoder{file: name, index: index{}}
	d.decode(reflect.ValueOf(c).Elem(), root, "")
	errs := d.errs
	for _, e := range c.check() {
		if decodeFailed(d.errs, e.Key) {
			continue // the key keeps its default; its own error is reported
		}
		e.File = name
		if p, ok := d.index.lookup(e.Key); ok {
			e.Line, e.Column = p.line, p.col
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		errs.sortByPosition()
		return nil, errs.truncate()
	}
	return c, nil
}

// decodeFailed reports whether key, or a table it is in, had a decoding
// error among errs.
func decodeFailed(errs ErrorList, key string) bool {
	for _, e := range errs {
		if e.Key == key || strings.HasPrefix(key, e.Key+".") || strings.HasPrefix(key, e.Key+"[") {
			return true
		}
	}
	return false
}

// syntaxError converts an error of go-toml into an Error.
func syntaxError(name string, err error) *Error {
	e := &Error{File: name, Msg: "invalid TOML: " + strings.TrimPrefix(err.Error(), "toml: ")}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		e.Line, e.Column = de.Position()
	}
	return e
}

// Marshal encodes c as a TOML config file that Parse reads back as c.
func (c *Config) Marshal() ([]byte, error) {
	return toml.Marshal(c)
}
