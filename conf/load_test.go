package conf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testNKey  = "UB6GHBF4GWGIHVX656TAC3QEQLRTYUUT7YRZM7SDZCYIMSQ4ARXRJA2V"
	testNKey2 = "UCR2QY5N2X7Q5PR6YHNJ62K6DFUPLKVVQUG34TQ5HNYMTW3KEKFWI5ZI"
	testSeed  = "SUAE6UR7UOYKV6VN6KSCQ72YIP3PDIZZJD6QW5OMKEWDYE5VXKIFMPQO2E"
	testHash  = "$2a$11$Q6HtsN4DdIpkVCxuE1toBuDZhtsoY49cFnpzQnFwuy/hZ9Fo9LDLu"
)

// file joins its arguments into a file, one per line.
func file(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string // every line of the error
	}{
		// Syntax and TOML rules, reported by go-toml.
		{"syntax: missing value", file("port = "),
			`wren.toml:1:8: invalid TOML: unexpected character U+000A at start of value`},
		{"syntax: unclosed header", file("[limits", "max_payload = 1"),
			`wren.toml:1:8: invalid TOML: expected ']' to close table name`},
		{"syntax: duplicate key", file("port = 1", "port = 2"),
			`wren.toml:2:1: invalid TOML: key port is already defined`},
		{"syntax: table twice", file("[log]", "level = 'info'", "[log]"),
			`wren.toml:3:2: invalid TOML: table log already exists`},

		// Unknown keys.
		{"unknown top-level key", file("prot = 4222"),
			`wren.toml:1:1: prot: unknown key; did you mean port?`},
		{"unknown key in a table", file("[limits]", "max_paylaod = '1MB'"),
			`wren.toml:2:1: limits.max_paylaod: unknown key; did you mean max_payload?`},
		{"unknown dotted key", file("limits.max_pendng = 5"),
			`wren.toml:1:8: limits.max_pendng: unknown key; did you mean max_pending?`},
		{"unknown table", file("[cluster]", "port = 6222"),
			`wren.toml:1:2: cluster: unknown key`},
		{"unknown key in an array of tables", file("[[authorization.users]]", "user = 'a'", "password = 'b'", "pasword = 'c'"),
			`wren.toml:4:1: authorization.users[0].pasword: unknown key; did you mean password?`},
		{"unknown key in an inline table", file("[authorization]", "default_permissions = { publsh = ['a'] }"),
			`wren.toml:2:25: authorization.default_permissions.publsh: unknown key; did you mean publish?`},
		{"all unknown keys, in file order", file("[log]", "levl = 'info'", "[tls]", "cert = 'x'"),
			file(`wren.toml:2:1: log.levl: unknown key; did you mean level?`,
				`wren.toml:4:1: tls.cert: unknown key`)},

		// Wrong types.
		{"string for an integer", file("port = '4222'"),
			`wren.toml:1:8: port: expected an integer, got string "4222"`},
		{"float for an integer", file("port = 4222.0"),
			`wren.toml:1:8: port: expected an integer, got float 4222.0`},
		{"date for an integer", file("port = 2024-01-01"),
			`wren.toml:1:8: port: expected an integer, got a date or time`},
		{"array for a string", file("host = ['a', 'b']"),
			`wren.toml:1:8: host: expected a string, got an array`},
		{"string for a boolean", file("[log]", "time = 'yes'"),
			`wren.toml:2:8: log.time: expected true or false, got string "yes"`},
		{"value for a table", file("limits = 5"),
			`wren.toml:1:10: limits: expected a table, got integer 5`},
		{"table for a size", file("[limits.max_payload]", "mb = 1"),
			`wren.toml:1:9: limits.max_payload: expected a size such as "64MB" or "512KB", or a number of bytes, got a table`},
		{"boolean for a duration", file("[limits]", "ping_interval = true"),
			`wren.toml:2:17: limits.ping_interval: expected a duration such as "2m" or "500ms", or a number of seconds, got boolean true`},
		{"string for permissions", file("[authorization]", "default_permissions.publish = 'a.>'"),
			`wren.toml:2:31: authorization.default_permissions.publish: expected a list of subjects, or a table with allow and deny lists, got string "a.>"`},
		{"integer in a subject list", file("[authorization.default_permissions]", "subscribe = ['a', 5]"),
			`wren.toml:2:19: authorization.default_permissions.subscribe.allow[1]: expected a string, got integer 5`},
		{"string for allow_responses", file("[authorization.default_permissions]", "allow_responses = 'yes'"),
			`wren.toml:2:19: authorization.default_permissions.allow_responses: expected true, false, or a table with max and expires, got string "yes"`},
		{"table for users", file("[authorization.users]", "user = 'a'"),
			`wren.toml:1:16: authorization.users: expected an array, got a table`},

		// Bad durations and sizes.
		{"bad duration", file("[limits]", "ping_interval = '2 minutes'"),
			`wren.toml:2:17: limits.ping_interval: invalid duration "2 minutes": expected a duration such as "2m", "500ms" or "10s", or a number of seconds`},
		{"negative duration", file("[limits]", "write_deadline = -5"),
			`wren.toml:2:18: limits.write_deadline: must not be negative, got "-5s"`},
		{"zero duration", file("[tls]", "timeout = 0"),
			`wren.toml:2:11: tls.timeout: must be greater than 0`},
		{"bad size unit", file("[limits]", "max_pending = '64 megs'"),
			`wren.toml:2:15: limits.max_pending: invalid size "64 megs": unknown size unit "megs"; expected B, KB, MB, GB or TB`},
		{"fractional size", file("[jetstream]", "max_storage = '1.5GB'"),
			`wren.toml:2:15: jetstream.max_storage: invalid size "1.5GB": unknown size unit ".5GB"; expected B, KB, MB, GB or TB`},
		{"negative size", file("[limits]", "max_pending = -1"),
			`wren.toml:2:15: limits.max_pending: must not be negative, got -1`},
		{"negative size string", file("[jetstream]", "max_storage = '-1GB'"),
			`wren.toml:2:15: jetstream.max_storage: invalid size "-1GB": size "-1GB" must not be negative`},

		// Values out of range.
		{"max_payload over the hard maximum", file("[limits]", "max_payload = '9MB'"),
			`wren.toml:2:15: limits.max_payload: "9MB" exceeds the hard maximum of 8MB`},
		{"max_payload of zero", file("[limits]", "max_payload = 0"),
			`wren.toml:2:15: limits.max_payload: must be greater than 0`},
		{"max_control_line too small", file("[limits]", "max_control_line = 100"),
			`wren.toml:2:20: limits.max_control_line: "100B" is below the minimum of 256B`},
		{"max_pending below max_payload", file("[limits]", "max_payload = '4MB'", "max_pending = '1MB'"),
			`wren.toml:3:15: limits.max_pending: "1MB" is smaller than limits.max_payload (4MB): one message would make a slow consumer`},
		{"max_connections of zero", file("limits.max_connections = 0"),
			`wren.toml:1:26: limits.max_connections: must be at least 1, got 0`},
		{"gomemlimit too small", file("limits.gomemlimit = '64KB'"),
			`wren.toml:1:21: limits.gomemlimit: "64KB" is below the minimum of 1MB`},
		{"port out of range", file("port = 70000"),
			`wren.toml:1:8: port: 70000 is out of range; expected 0 to 65535`},
		{"negative monitor port", file("[monitor]", "port = -2"),
			`wren.toml:2:8: monitor.port: -2 is out of range; expected -1 (a free port) or 0 to 65535`},
		{"monitor on the client port", file("[monitor]", "host = '0.0.0.0'", "port = 4222"),
			`wren.toml:3:8: monitor.port: 4222 is also the client port`},
		{"host with a port", file("host = '0.0.0.0:4222'"),
			`wren.toml:1:8: host: "0.0.0.0:4222" includes a port; set it with the port key`},
		{"empty host", file("host = ''"),
			`wren.toml:1:8: host: must not be empty; use "0.0.0.0" for every interface`},
		{"bad client_advertise", file("client_advertise = 'nats://edge:4222'"),
			`wren.toml:1:20: client_advertise: "nats://edge:4222" has a URL scheme; expected "host" or "host:port"`},
		{"server_name with a space", file("server_name = 'plant 1'"),
			`wren.toml:1:15: server_name: "plant 1" contains whitespace`},
		{"one setting under both its spellings", file("[websocket]", "compression = true", "compress = false"),
			`wren.toml:3:1: websocket.compress: is the same setting as websocket.compression, set already`},

		// Unknown enumerations.
		{"bad sync policy", file("[jetstream]", "sync = 'sometimes'"),
			`wren.toml:2:8: jetstream.sync: unknown sync policy "sometimes"; expected always, interval or never`},
		{"bad log level", file("[log]", "level = 'verbose'"),
			`wren.toml:2:9: log.level: unknown level "verbose"; expected debug, info, warn or error`},
		{"bad log format", file("[log]", "format = 'xml'"),
			`wren.toml:2:10: log.format: unknown format "xml"; expected text or json`},
		{"bad compression", file("[jetstream]", "compression = 'zstd'"),
			`wren.toml:2:15: jetstream.compression: unknown compression "zstd"; expected none or s2`},
		{"jetstream without a store", file("[jetstream]", "enabled = true", "store_dir = ''"),
			`wren.toml:3:13: jetstream.store_dir: must be set when jetstream.enabled is true`},

		// Permissions.
		{"empty token in a subject", file("[authorization.default_permissions]", "publish = { allow = ['a.b', 'foo..bar'] }"),
			`wren.toml:2:29: authorization.default_permissions.publish.allow[1]: subject "foo..bar" has an empty token`},
		{"'>' before the last token", file("[[authorization.users]]", "user = 'a'", "password = 'b'", "permissions.subscribe.deny = ['foo.>.bar']"),
			`wren.toml:4:31: authorization.users[0].permissions.subscribe.deny[0]: subject "foo.>.bar" has '>' before its last token`},
		{"'>' first, short form", file("[[authorization.users]]", "user = 'a'", "password = 'b'", "permissions = { publish = ['ok', '>.x'] }"),
			`wren.toml:4:34: authorization.users[0].permissions.publish.allow[1]: subject ">.x" has '>' before its last token`},
		{"queue group in publish permissions", file("[authorization.default_permissions]", "publish = ['a b']"),
			`wren.toml:2:12: authorization.default_permissions.publish.allow[0]: "a b": a queue group after the subject is allowed in subscribe permissions only`},
		{"subject with a space", file("[authorization.default_permissions]", "publish = ['a\tb c']"),
			`wren.toml:2:12: authorization.default_permissions.publish.allow[0]: subject "a\tb c" contains whitespace`},
		{"two words after the subject", file("[authorization.default_permissions]", "subscribe = ['a b c']"),
			`wren.toml:2:14: authorization.default_permissions.subscribe.allow[0]: "a b c": the queue group "b c" is not a valid pattern: one subject-like word after the subject`},
		{"space before the subject", file("[authorization.default_permissions]", "subscribe.deny = [' a']"),
			`wren.toml:2:19: authorization.default_permissions.subscribe.deny[0]: subject " a" begins with white space`},
		{"empty subject", file("[authorization.default_permissions]", "subscribe.allow = ['']"),
			`wren.toml:2:20: authorization.default_permissions.subscribe.allow[0]: subject is empty`},

		// Users.
		{"user with both password and nkey", file("[[authorization.users]]", "user = 'a'", "password = 'b'", "nkey = '"+testNKey+"'"),
			`wren.toml:3:12: authorization.users[0].password: cannot be combined with nkey: choose a password or an nkey`},
		{"duplicate user", file("[[authorization.users]]", "user = 'alice'", "password = 'a'", "[[authorization.users]]", "user = 'bob'", "password = 'b'", "[[authorization.users]]", "user = 'alice'", "password = 'c'"),
			`wren.toml:8:8: authorization.users[2].user: "alice" is already defined by authorization.users[0]`},
		{"duplicate nkey", file("[authorization]", "users = [", "  { nkey = '"+testNKey+"' },", "  { nkey = '"+testNKey+"' },", "]"),
			`wren.toml:4:12: authorization.users[1].nkey: already used by authorization.users[0]`},
		{"account nkey for a user", file("[[authorization.users]]", "nkey = 'AA6BAIIFHVGOUBWPEEFVZ4UTNRSANC4UJ44TELMKNVCUVRUEBHA2HTPC'"),
			`wren.toml:2:8: authorization.users[0].nkey: "AA6BAIIF…" is not a user nkey; expected a public key starting with "U"`},
		{"seed for a user nkey", file("[[authorization.users]]", "nkey = '"+testSeed+"'"),
			`wren.toml:2:8: authorization.users[0].nkey: this is a user seed, which must stay secret; use the public key, which starts with "U"`},
		{"short nkey", file("[[authorization.users]]", "nkey = 'UABC'"),
			`wren.toml:2:8: authorization.users[0].nkey: user nkey has 4 characters; expected 56`},
		{"nkey with a typo", file("[[authorization.users]]", "nkey = '"+strings.Replace(testNKey, "GHBF", "GHBE", 1)+"'"),
			`wren.toml:2:8: authorization.users[0].nkey: "UB6GHBE4…" has a bad checksum; check for a typo`},
		{"user without credentials", file("[[authorization.users]]", "user = 'a'"),
			`wren.toml:2:8: authorization.users[0].user: "a" needs a password or an nkey (or tls.verify_and_map, to authenticate by certificate)`},
		{"user without a name", file("[[authorization.users]]", "password = 'a'"),
			`wren.toml:2:12: authorization.users[0].password: set without user`},
		{"empty user entry", file("[authorization]", "users = [{}]"),
			`wren.toml:2:10: authorization.users[0]: needs a user or an nkey`},
		{"malformed bcrypt", file("[authorization]", "user = 'a'", "password = '$2a$11$short'"),
			`wren.toml:3:12: authorization.password: malformed bcrypt hash; expected "$2a$" followed by a cost, '$' and 53 characters`},
		{"token and users", file("[authorization]", "token = 't'", "[[authorization.users]]", "user = 'a'", "password = 'b'"),
			`wren.toml:2:9: authorization.token: cannot be combined with authorization.users`},
		{"user and users", file("[authorization]", "user = 'a'", "password = 'p'", "users = [{ user = 'b', password = 'q' }]"),
			`wren.toml:2:8: authorization.user: cannot be combined with authorization.users; add this user to the list instead`},
		{"user without a password", file("[authorization]", "user = 'a'"),
			`wren.toml:2:8: authorization.user: set without authorization.password`},
		{"no_auth_user unknown", file("[authorization]", "no_auth_user = 'ghost'", "users = [{ user = 'b', password = 'q' }]"),
			`wren.toml:2:16: authorization.no_auth_user: "ghost" is not a user of authorization.user or authorization.users`},
		{"no_auth_user with a token", file("[authorization]", "token = 't'", "no_auth_user = 't'"),
			`wren.toml:3:16: authorization.no_auth_user: cannot be combined with authorization.token`},

		// TLS.
		{"tls cert without key", file("[tls]", "cert_file = 'server.pem'"),
			`wren.toml:2:13: tls.cert_file: set without tls.key_file`},
		{"tls key without cert", file("[tls]", "key_file = 'server-key.pem'"),
			`wren.toml:2:12: tls.key_file: set without tls.cert_file`},
		{"tls verify without cert", file("[tls]", "verify = true"),
			`wren.toml:2:10: tls.verify: needs tls.cert_file and tls.key_file`},
		{"verify_and_map without users", file("[tls]", "cert_file = 'c'", "key_file = 'k'", "verify_and_map = true"),
			`wren.toml:4:18: tls.verify_and_map: needs authorization.users to map certificates to`},

		// Several problems: every one, in file order.
		{"several validation errors", file("port = 70000", "[limits]", "max_payload = '9MB'", "[jetstream]", "sync = 'sometimes'"),
			file(`wren.toml:1:8: port: 70000 is out of range; expected 0 to 65535`,
				`wren.toml:3:15: limits.max_payload: "9MB" exceeds the hard maximum of 8MB`,
				`wren.toml:5:8: jetstream.sync: unknown sync policy "sometimes"; expected always, interval or never`)},
		{"decoding and validation errors in one run", file("port = 70000", "[log]", "time = 1", "[jetstream]", `sync = "sometimes"`),
			file(`wren.toml:1:8: port: 70000 is out of range; expected 0 to 65535`,
				`wren.toml:3:8: log.time: expected true or false, got integer 1`,
				`wren.toml:5:8: jetstream.sync: unknown sync policy "sometimes"; expected always, interval or never`)},
		{"a key that did not decode is reported once", file("[limits]", `max_payload = "lots"`),
			`wren.toml:2:15: limits.max_payload: invalid size "lots": expected a size such as "64MB", "512KB" or "4096"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("wren.toml", []byte(tt.file))
			want := strings.TrimSuffix(tt.want, "\n")
			if got := errString(err); got != want {
				t.Errorf("Parse(%q) error =\n%s\nwant\n%s", tt.file, got, want)
			}
			if c != nil {
				t.Errorf("Parse(%q) returned a config with an error", tt.file)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse(%q) error is %T; want a non-empty ErrorList", tt.file, err)
			}
			for _, e := range list {
				if e.Line == 0 || strings.Contains(e.Error(), "\n") {
					t.Errorf("error %q has no position or is not one line", e.Error())
				}
			}
		})
	}
}

func TestParseTooManyErrors(t *testing.T) {
	data := strings.Repeat("[[authorization.users]]\nuser = 'x'\n", 30)
	_, err := Parse("wren.toml", []byte(data))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse error = %v; want an ErrorList", err)
	}
	if got, want := len(list), maxErrors+1; got != want {
		t.Fatalf("len(errors) = %d; want %d", got, want)
	}
	// 30 users without a password, and 29 duplicates of the first: 59.
	if got, want := list[maxErrors].Error(), "wren.toml:22:8: too many errors; 39 more not shown"; got != want {
		t.Errorf("last error = %q; want %q", got, want)
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		check func(c *Config) bool
	}{
		{"empty file is the default", "", func(c *Config) bool {
			return reflect.DeepEqual(c, Default())
		}},
		{"integer size is bytes", file("[limits]", "max_payload = 2048"), func(c *Config) bool {
			return c.Limits.MaxPayload == 2048
		}},
		{"size with unit", file("[limits]", "max_pending = '128MiB'"), func(c *Config) bool {
			return c.Limits.MaxPending == 128*Megabyte
		}},
		{"integer duration is seconds", file("[limits]", "ping_interval = 30"), func(c *Config) bool {
			return c.Limits.PingInterval.Duration() == 30*time.Second
		}},
		{"float duration is seconds", file("[authorization]", "timeout = 0.5"), func(c *Config) bool {
			return c.Authorization.Timeout.Duration() == 500*time.Millisecond
		}},
		{"dotted keys", file("limits.max_pings_out = 5", "log.level = 'debug'"), func(c *Config) bool {
			return c.Limits.MaxPingsOut == 5 && c.Log.Level == LevelDebug && c.Log.SlogLevel() < 0
		}},
		{"inline table section", file("monitor = { port = 8222 }"), func(c *Config) bool {
			return c.Monitor.Port == 8222 && c.Monitor.Host == "127.0.0.1" && c.Monitor.Enabled()
		}},
		{"short form permissions", file("[[authorization.users]]", "user = 'a'", "password = '"+testHash+"'",
			"permissions = { publish = ['a.>', 'b.*'], subscribe = { deny = ['secret.>'] } }"), func(c *Config) bool {
			p := c.Authorization.Users[0].Permissions
			return reflect.DeepEqual(p.Publish, SubjectRules{Allow: []string{"a.>", "b.*"}}) &&
				reflect.DeepEqual(p.Subscribe, SubjectRules{Deny: []string{"secret.>"}}) && p.AllowResponses == nil
		}},
		{"allow_responses true", file("[authorization.default_permissions]", "allow_responses = true"), func(c *Config) bool {
			return *c.Authorization.DefaultPermissions.AllowResponses == ResponsePermission{Max: 1, Expires: Duration(2 * time.Minute)}
		}},
		{"allow_responses zeros take the defaults", file("[authorization.default_permissions]", "allow_responses = { max = 0, expires = '0s' }"), func(c *Config) bool {
			return *c.Authorization.DefaultPermissions.AllowResponses == ResponsePermission{Max: 1, Expires: Duration(2 * time.Minute)}
		}},
		{"allow_responses negatives mean no limit", file("[authorization.default_permissions]", "allow_responses = { max = -1, expires = '-1s' }"), func(c *Config) bool {
			return *c.Authorization.DefaultPermissions.AllowResponses == ResponsePermission{Max: -1, Expires: Duration(-time.Second)}
		}},
		{"allow_responses false", file("[authorization.default_permissions]", "allow_responses = false"), func(c *Config) bool {
			return c.Authorization.DefaultPermissions.AllowResponses == nil
		}},
		{"allow_responses table keeps max 1", file("[authorization.default_permissions]", "allow_responses = { expires = '1m' }"), func(c *Config) bool {
			return *c.Authorization.DefaultPermissions.AllowResponses == ResponsePermission{Max: 1, Expires: Duration(time.Minute)}
		}},
		{"nkey users", file("[authorization]", "users = [{ nkey = '"+testNKey+"' }, { nkey = '"+testNKey2+"' }]"), func(c *Config) bool {
			return len(c.Authorization.Users) == 2 && c.Authorization.Users[1].NKey == testNKey2 && c.Authorization.Enabled()
		}},
		{"verify_and_map users need no password", file("[tls]", "cert_file = 'c'", "key_file = 'k'", "verify_and_map = true",
			"[[authorization.users]]", "user = 'CN=sensor-17'"), func(c *Config) bool {
			return c.TLS.Enabled() && c.Authorization.Users[0].User == "CN=sensor-17"
		}},
		{"token", file("[authorization]", "token = '"+testHash+"'"), func(c *Config) bool {
			return c.Authorization.Token == testHash
		}},
		{"IPv6 and host names", file("host = '::'", "client_advertise = '[2001:db8::1]:4222'", "monitor.host = 'gw-1.local'"), func(c *Config) bool {
			return c.Host == "::" && c.Monitor.Host == "gw-1.local"
		}},
		{"quoted keys and literal strings", file(`"host" = '10.0.0.1'`, `log.'file' = 'C:\wren\log.txt'`), func(c *Config) bool {
			return c.Host == "10.0.0.1" && c.Log.File == `C:\wren\log.txt`
		}},
		{"hex integers and underscores", file("limits.max_connections = 0x400", "limits.max_payload = 1_048_576"), func(c *Config) bool {
			return c.Limits.MaxConnections == 1024 && c.Limits.MaxPayload == Megabyte
		}},
		{"CRLF line ends", "port = 4333\r\n[log]\r\nformat = 'json'\r\n", func(c *Config) bool {
			return c.Port == 4333 && c.Log.Format == FormatJSON
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("wren.toml", []byte(tt.file))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", tt.file, err)
			}
			if !tt.check(c) {
				t.Errorf("Parse(%q) = %+v; check failed", tt.file, c)
			}
		})
	}
}

func TestDefaultTOML(t *testing.T) {
	c, err := Parse("default.toml", DefaultTOML)
	if err != nil {
		t.Fatalf("Parse(DefaultTOML) error = %v", err)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(DefaultTOML) = %+v; want Default() = %+v", c, want)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v; want nil", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wren.toml")
	if err := os.WriteFile(path, []byte(file("port = 4333", "[limits]", "max_payload = '9MB'")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if got, want := errString(err), path+`:3:15: limits.max_payload: "9MB" exceeds the hard maximum of 8MB`; got != want {
		t.Errorf("Load error = %q; want %q", got, want)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v; want ErrNotExist", err)
	}
}

func TestValidateAfterChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"unchanged", func(c *Config) {}, ""},
		{"port", func(c *Config) { c.Port = -1 }, "port: -1 is out of range; expected 0 to 65535"},
		{"payload", func(c *Config) { c.Limits.MaxPayload = 16 * Megabyte; c.Limits.MaxPending = Gigabyte },
			`limits.max_payload: "16MB" exceeds the hard maximum of 8MB`},
		{"sync", func(c *Config) { c.JetStream.Sync = "sometimes" },
			`jetstream.sync: unknown sync policy "sometimes"; expected always, interval or never`},
		{"two", func(c *Config) { c.Log.Level = "loud"; c.TLS.KeyFile = "k" },
			file(`log.level: unknown level "loud"; expected debug, info, warn or error`,
				`tls.key_file: set without tls.cert_file`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			if got, want := errString(c.Validate()), strings.TrimSuffix(tt.want, "\n"); got != want {
				t.Errorf("Validate() = %q; want %q", got, want)
			}
		})
	}
}
