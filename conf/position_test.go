package conf

import (
	"reflect"
	"testing"
)

var typeOfLimits = reflect.TypeFor[Limits]()

func TestParentPath(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"port", ""},
		{"limits.max_payload", "limits"},
		{"authorization.users[2]", "authorization.users"},
		{"authorization.users[2].nkey", "authorization.users[2]"},
		{"a.b.allow[0]", "a.b.allow"},
		{`a."b.c"`, "a"},
		{`a."b\".c"`, "a"},
		{`"x.y"`, ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := parentPath(tt.in); got != tt.want {
			t.Errorf("parentPath(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestJoinKey(t *testing.T) {
	tests := []struct {
		path, name, want string
	}{
		{"", "port", "port"},
		{"limits", "max_payload", "limits.max_payload"},
		{"a", "b.c", `a."b.c"`},
		{"", "with space", `"with space"`},
		{"a", "", `a.""`},
	}
	for _, tt := range tests {
		if got := joinKey(tt.path, tt.name); got != tt.want {
			t.Errorf("joinKey(%q, %q) = %q; want %q", tt.path, tt.name, got, tt.want)
		}
	}
}

func TestIndexLookup(t *testing.T) {
	ix := index{
		"authorization":          {1, 2},
		"authorization.users":    {3, 3},
		"authorization.users[1]": {7, 1},
	}
	tests := []struct {
		path   string
		want   pos
		wfound bool
	}{
		{"authorization.users[1]", pos{7, 1}, true},
		{"authorization.users[1].user", pos{7, 1}, true},
		{"authorization.users[0].permissions.publish.allow[3]", pos{3, 3}, true},
		{"authorization.token", pos{1, 2}, true},
		{"tls.cert_file", pos{}, false},
	}
	for _, tt := range tests {
		got, found := ix.lookup(tt.path)
		if got != tt.want || found != tt.wfound {
			t.Errorf("lookup(%q) = %v, %v; want %v, %v", tt.path, got, found, tt.want, tt.wfound)
		}
	}
}

func TestLinesAt(t *testing.T) {
	l := newLines([]byte("ab\ncd\r\n\nx"))
	tests := []struct {
		off  int
		want pos
	}{
		{0, pos{1, 1}},
		{1, pos{1, 2}},
		{2, pos{1, 3}},
		{3, pos{2, 1}},
		{6, pos{2, 4}},
		{7, pos{3, 1}},
		{8, pos{4, 1}},
	}
	for _, tt := range tests {
		if got := l.at(tt.off); got != tt.want {
			t.Errorf("at(%d) = %v; want %v", tt.off, got, tt.want)
		}
	}
}
