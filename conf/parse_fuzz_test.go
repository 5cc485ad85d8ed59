package conf

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that a config it accepts
// validates, and that every error it returns is one line with a position.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("wren.example.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add(uncomment(example))
	f.Add(DefaultTOML)
	for _, s := range []string{
		"port = 70000\n",
		"[limits]\nmax_payload = '9MB'\n",
		"[[authorization.users]]\nuser = 'a'\npassword = 'b'\npermissions = { publish = ['a.>'] }\n",
		"a.b.c = [[1], [2, {x = 1}]]\n",
		"[authorization]\nusers = [{ nkey = '" + testNKey + "' }]\n",
		"limits = { max_payload = 1, ping_interval = 0.5 }\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that Validate rejects: %v", verr)
			}
			return
		}
		if c != nil {
			t.Fatalf("Parse returned a config and the error %v", err)
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("Parse error %T %v is not a non-empty ErrorList", err, err)
		}
		for _, e := range list {
			if e.Line < 1 || e.Column < 1 || strings.ContainsAny(e.Error(), "\r\n") {
				t.Fatalf("error %q has no position or spans lines", e.Error())
			}
		}
	})
}
