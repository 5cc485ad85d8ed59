package conf

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"testing"
)

func readExample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("wren.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The example sets every key that has a default to that default, so what it
// documents is what wren does.
func TestExampleIsDefault(t *testing.T) {
	c, err := Parse("wren.example.toml", readExample(t))
	if err != nil {
		t.Fatalf("Parse(example) error = %v", err)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(example) = %+v; want Default() = %+v", c, want)
	}
}

// commentedSetting matches a line of the example that shows a setting
// commented out: "# key = value", "# [table]" or "# [[array]]".
var commentedSetting = regexp.MustCompile(`(?m)^# ?(\[\[?[a-z_.]+\]\]?$|[a-z_][a-z0-9_.]*\s*=\s)`)

// uncomment turns the commented-out settings of the example into settings.
func uncomment(data []byte) []byte {
	return commentedSetting.ReplaceAllFunc(data, func(m []byte) []byte {
		return commentedSetting.ReplaceAll(m, []byte("$1"))
	})
}

// Every key of the schema appears in the example, set or commented out, with
// a value of the right type.
func TestExampleDocumentsEveryKey(t *testing.T) {
	root, err := buildTree(uncomment(readExample(t)))
	if err != nil {
		t.Fatalf("example with its settings uncommented: %v", err)
	}
	d := &decoder{file: "wren.example.toml", index: index{}}
	d.decode(reflect.ValueOf(Default()).Elem(), root, "")
	if err := d.errs.err(); err != nil {
		t.Fatalf("example with its settings uncommented:\n%v", err)
	}
	documented := map[string]bool{}
	for path := range d.index {
		documented[stripIndexes.ReplaceAllString(path, "")] = true
	}
	keys := schemaKeys(reflect.TypeFor[Config](), "")
	if len(keys) < 40 {
		t.Fatalf("schemaKeys found %d keys: %q", len(keys), keys)
	}
	for _, k := range keys {
		if !documented[k] {
			t.Errorf("key %s is not in wren.example.toml", k)
		}
	}
}

var stripIndexes = regexp.MustCompile(`\[\d+\]`)

// schemaKeys lists the dotted paths of every leaf key under struct type t,
// following the toml tags.
func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := tagName(f)
		if name == "" {
			continue
		}
		path := joinKey(prefix, name)
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(ft, path)...)
		} else {
			keys = append(keys, path)
		}
	}
	return keys
}

func TestSchemaKeys(t *testing.T) {
	keys := schemaKeys(reflect.TypeFor[Config](), "")
	for _, k := range []string{
		"port",
		"limits.max_payload",
		"authorization.users.nkey",
		"authorization.users.permissions.publish.allow",
		"authorization.default_permissions.allow_responses.expires",
		"tls.handshake_first",
	} {
		if !slices.Contains(keys, k) {
			t.Errorf("schemaKeys(Config) lacks %s; got %q", k, keys)
		}
	}
}

// A config survives Marshal and Parse unchanged.
func TestMarshalRoundTrip(t *testing.T) {
	full := file(
		"host = '::'",
		"port = 4333",
		"server_name = 'gw-1'",
		"client_advertise = 'gw-1.example:4333'",
		"[limits]",
		"max_payload = '2MB'",
		"max_control_line = 1000",
		"max_pending = '100MB'",
		"ping_interval = 90",
		"write_deadline = 0.25",
		"gomemlimit = '48MiB'",
		"[log]",
		"level = 'debug'",
		"file = '/var/log/wren.log'",
		"format = 'json'",
		"time = false",
		"[monitor]",
		"port = 8222",
		"[jetstream]",
		"enabled = true",
		"sync = 'interval'",
		"sync_interval = '250ms'",
		"max_storage = '1536MB'",
		"compression = 's2'",
		"[authorization]",
		"timeout = '3s'",
		"default_permissions = { publish = { deny = ['>'] }, allow_responses = true }",
		"[[authorization.users]]",
		"user = 'dashboard'",
		"password = '"+testHash+"'",
		"permissions = { publish = ['_INBOX.>'], subscribe = { allow = ['sensors.>'], deny = ['sensors.*.admin'] } }",
		"[[authorization.users]]",
		"nkey = '"+testNKey+"'",
		"permissions.allow_responses = { max = 3, expires = '1m30s' }",
		"[[authorization.users]]",
		"user = 'CN=sensor-17,O=Plant 1'",
		"[tls]",
		"cert_file = 'server.pem'",
		"key_file = 'server-key.pem'",
		"ca_file = 'ca.pem'",
		"verify_and_map = true",
		"handshake_first = true",
		"timeout = '1s'",
	)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"example", readExample(t)},
		{"default", DefaultTOML},
		{"full", []byte(full)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.name, tt.data)
			if err != nil {
				t.Fatalf("Parse error = %v", err)
			}
			out, err := c.Marshal()
			if err != nil {
				t.Fatalf("Marshal error = %v", err)
			}
			back, err := Parse(tt.name+" marshalled", out)
			if err != nil {
				t.Fatalf("Parse(Marshal()) error = %v\n%s", err, out)
			}
			if !reflect.DeepEqual(back, c) {
				t.Errorf("Parse(Marshal(c)) = %+v; want %+v\n%s", back, c, out)
			}
		})
	}
}
