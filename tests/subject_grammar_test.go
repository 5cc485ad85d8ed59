package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/server"
)

// subjectGrammar states the subject rules once. A filter (subscription
// subject, permission, config entry) is tokens joined by '.', none empty,
// with '*' as a whole token matching one token and '>' as the whole last
// token matching one or more. A literal (publish subject) is a filter
// without those wildcard tokens. '*' and '>' inside a longer token are
// literal bytes; so is every control byte except the five that separate
// fields (space, tab, CR, LF, FF), which no subject holds.
var subjectGrammar = []struct {
	s               string
	filter, literal bool
}{
	{"foo", true, true},
	{"foo.bar", true, true},
	{"föö.bär", true, true},
	{"$JS.API.STREAM.INFO.S", true, true},
	{"foo.*", true, false},
	{"*.bar.>", true, false},
	{">", true, false},
	{"*", true, false},
	{"foo*", true, true},
	{"foo*.b>", true, true},
	{"**", true, true},
	{">>.x", true, true},
	{"*foo.>", true, false},
	{"foo\vbar", true, true},
	{"foo\x00bar", true, true},
	{"\x01.*", true, false},
	{"foo\x7f", true, true},
	{"\x1b[1m.x", true, true},
	{"", false, false},
	{".", false, false},
	{".foo", false, false},
	{"foo.", false, false},
	{"foo..bar", false, false},
	{"foo.>.bar", false, false},
	{">.foo", false, false},
	{"foo bar", false, false},
	{"foo\tbar", false, false},
	{"foo\rbar", false, false},
	{"foo\nbar", false, false},
	{"foo\fbar", false, false},
	{" foo", false, false},
	{"foo ", false, false},
}

// TestSubjectGrammar holds every layer that checks subjects to the table:
// protocol's checks, the config file, permissions, and the wire (what a
// client may subscribe to and publish on, and that a message comes back
// under exactly its subject, whatever literal bytes it holds).
func TestSubjectGrammar(t *testing.T) {
	for _, tt := range subjectGrammar {
		t.Run(fmt.Sprintf("%q", tt.s), func(t *testing.T) {
			if got := protocol.ValidFilter(tt.s); got != tt.filter {
				t.Errorf("protocol.ValidFilter = %v; want %v", got, tt.filter)
			}
			if got := protocol.ValidLiteral(tt.s); got != tt.literal {
				t.Errorf("protocol.ValidLiteral = %v; want %v", got, tt.literal)
			}
			if err := protocol.CheckFilter(tt.s); (err == nil) != tt.filter {
				t.Errorf("protocol.CheckFilter = %v; want valid = %v", err, tt.filter)
			}
			if _, ok := protocol.SplitFilter(tt.s); ok != tt.filter {
				t.Errorf("protocol.SplitFilter ok = %v; want %v", ok, tt.filter)
			}

			doc := "[authorization.default_permissions]\npublish = { allow = [" + tomlString(tt.s) + "] }\n"
			_, err := conf.Parse("wren.toml", []byte(doc))
			if (err == nil) != tt.filter {
				t.Errorf("config with publish.allow = [%q]: error %v; want valid = %v", tt.s, err, tt.filter)
			}

			perms := &auth.Permissions{
				Publish:   auth.SubjectPermission{Allow: []string{tt.s}},
				Subscribe: auth.SubjectPermission{Allow: []string{tt.s}},
			}
			a, err := auth.New(auth.Config{Users: []auth.User{{Name: "u", Password: "p", Permissions: perms}}})
			if (err == nil) != tt.filter {
				t.Errorf("auth.New with permission %q: error %v; want valid = %v", tt.s, err, tt.filter)
			}
			if strings.ContainsAny(tt.s, " \t\r\n\f") || tt.s == "" {
				return // the wire cannot carry it as one subject
			}
			checkWireSubject(t, tt.s, tt.filter, tt.literal, nil)
			if a != nil && tt.literal {
				// The user may publish and subscribe on exactly the
				// subject its permissions name.
				checkWireSubject(t, tt.s, true, true, a)
			}
		})
	}
}

// checkWireSubject subscribes to s and, when it is a literal, publishes on
// it over a raw connection in pedantic mode (which checks publish
// subjects), expecting an error exactly where the grammar says, and the
// message back under its exact subject. With a non-nil authenticator the
// client logs in as user u.
func checkWireSubject(t *testing.T, s string, filter, literal bool, a *auth.Authenticator) {
	t.Helper()
	srv := startCoreServer(t, server.Options{Auth: a})
	rc := dialRaw(t, srv)
	fields := `"pedantic":true`
	if a != nil {
		fields += `,"user":"u","pass":"p"`
	}
	rc.send("CONNECT {\"verbose\":false," + fields + "}\r\nPING\r\n")
	rc.expect("PONG")
	rc.send("SUB " + s + " 1\r\nPING\r\n")
	if filter {
		rc.expect("PONG")
	} else {
		rc.expect("-ERR 'Invalid Subject'")
		rc.expect("PONG")
		return
	}
	rc.send("PUB " + s + " 2\r\nhi\r\nPING\r\n")
	if !literal {
		rc.expect("-ERR 'Invalid Publish Subject'")
		rc.expect("PONG")
		return
	}
	rc.expect("MSG " + s + " 1 2")
	rc.expect("hi")
	rc.expect("PONG")
}

// tomlString writes s as a TOML basic string, escaping what TOML needs.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
