package conf

import (
	"strings"
	"testing"
)

func TestCheckUserNKey(t *testing.T) {
	tests := []struct {
		in   string
		werr string
	}{
		{testNKey, ""},
		{testNKey2, ""},
		{testSeed, `this is a user seed, which must stay secret; use the public key, which starts with "U"`},
		{"", `"" is not a user nkey; expected a public key starting with "U"`},
		{"AA6BAIIFHVGOUBWPEEFVZ4UTNRSANC4UJ44TELMKNVCUVRUEBHA2HTPC", `"AA6BAIIF…" is not a user nkey; expected a public key starting with "U"`},
		{testNKey[:55], "user nkey has 55 characters; expected 56"},
		{"u" + testNKey[1:], `"uB6GHBF4…" is not a user nkey; expected a public key starting with "U"`},
		{testNKey[:55] + "1", `"UB6GHBF4…" is not a valid nkey`},
		{testNKey[:50] + "AAAAAA", `"UB6GHBF4…" has a bad checksum; check for a typo`},
	}
	for _, tt := range tests {
		if got := errString(checkUserNKey(tt.in)); got != tt.werr {
			t.Errorf("checkUserNKey(%q) = %q; want %q", tt.in, got, tt.werr)
		}
	}
}

func TestCheckBcrypt(t *testing.T) {
	const bad = `malformed bcrypt hash; expected "$2a$" followed by a cost, '$' and 53 characters`
	tests := []struct {
		in   string
		werr string
	}{
		{testHash, ""},
		{strings.Replace(testHash, "$2a$", "$2b$", 1), ""},
		{strings.Replace(testHash, "$2a$", "$2y$", 1), ""},
		{strings.Replace(testHash, "$11$", "$03$", 1), "bcrypt cost 3 is out of range; expected 04 to 31"},
		{strings.Replace(testHash, "$11$", "$32$", 1), "bcrypt cost 32 is out of range; expected 04 to 31"},
		{strings.Replace(testHash, "$2a$", "$2x$", 1), bad},
		{testHash[:59], bad},
		{testHash[:59] + "!", bad},
		{"$2a$11$", bad},
	}
	for _, tt := range tests {
		if got := errString(checkBcrypt(tt.in)); got != tt.werr {
			t.Errorf("checkBcrypt(%q) = %q; want %q", tt.in, got, tt.werr)
		}
	}
}

func TestCheckHost(t *testing.T) {
	tests := []struct {
		in   string
		werr string
	}{
		{"0.0.0.0", ""},
		{"127.0.0.1", ""},
		{"::", ""},
		{"fe80::1%eth0", ""},
		{"localhost", ""},
		{"gw-1.plant_a.example", ""},
		{"", `must not be empty; use "0.0.0.0" for every interface`},
		{"localhost:4222", `"localhost:4222" includes a port; set it with the port key`},
		{"[::1]:4222", `"[::1]:4222" includes a port; set it with the port key`},
		{"bad host", `"bad host" is not an IP address or a host name`},
		{"a..b", `"a..b" is not an IP address or a host name`},
		{"1.2.3.4.", `"1.2.3.4." is not an IP address or a host name`},
	}
	for _, tt := range tests {
		if got := errString(checkHost(tt.in)); got != tt.werr {
			t.Errorf("checkHost(%q) = %q; want %q", tt.in, got, tt.werr)
		}
	}
}

func TestSuggest(t *testing.T) {
	fields := fieldsOf(typeOfLimits)
	tests := []struct {
		in, want string
	}{
		{"max_paylod", "; did you mean max_payload?"},
		{"MAX_PAYLOAD", "; did you mean max_payload?"},
		{"ping_intervall", "; did you mean ping_interval?"},
		{"max_pings", ""},
		{"foo", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, fields); got != tt.want {
			t.Errorf("suggest(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
