package leaf

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nkeys"
)

// A .creds file gives the CONNECT its JWT and a signature of the hub's
// nonce made with its seed.
func TestCredentialsFile(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQSJ9.c2ln"
	creds := "-----BEGIN NATS USER JWT-----\n" + jwt + "\n------END NATS USER JWT------\n\n" +
		"************************* IMPORTANT *************************\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + string(seed) + "\n------END USER NKEY SEED------\n"
	path := filepath.Join(t.TempDir(), "gw.creds")
	if err := os.WriteFile(path, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Remote{CredsFile: path}
	var cn leafConnect
	nonce := []byte("eM6kuqbsdVDtRwM")
	if err := r.credentials(&cn, &url.URL{Scheme: "nats-leaf", Host: "hub:7422"}, nonce); err != nil {
		t.Fatal(err)
	}
	if cn.JWT != jwt {
		t.Fatalf("JWT = %q; want %q", cn.JWT, jwt)
	}
	sig, err := base64.RawURLEncoding.DecodeString(cn.Sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := kp.Verify(nonce, sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	// A URL's user info wins over the remote's user.
	cn = leafConnect{}
	r = Remote{User: "a", Password: "b"}
	r.credentials(&cn, &url.URL{Scheme: "nats-leaf", Host: "hub", User: url.UserPassword("u", "p")}, nil)
	if cn.User != "u" || cn.Pass != "p" {
		t.Fatalf("user %q pass %q; want the URL's", cn.User, cn.Pass)
	}
	if err := (&Remote{CredsFile: filepath.Join(t.TempDir(), "missing")}).credentials(&cn, &url.URL{}, nil); err == nil {
		t.Fatal("a missing credentials file is not an error")
	}
}

func TestParseMsgArgs(t *testing.T) {
	tests := []struct {
		line       string
		header     bool
		wsubj      string
		wreply     string
		wqueues    []string
		whdr, wlen int
		werr       bool
	}{
		{"foo 5", false, "foo", "", nil, 0, 5, false},
		{"foo bar 5", false, "foo", "bar", nil, 0, 5, false},
		{"foo + bar q1 q2 5", false, "foo", "bar", []string{"q1", "q2"}, 0, 5, false},
		{"foo | q1 5", false, "foo", "", []string{"q1"}, 0, 5, false},
		{"foo 12 20", true, "foo", "", nil, 12, 20, false},
		{"foo bar 12 20", true, "foo", "bar", nil, 12, 20, false},
		{"foo + bar q1 12 20", true, "foo", "bar", []string{"q1"}, 12, 20, false},
		{"foo | q1 q2 12 20", true, "foo", "", []string{"q1", "q2"}, 12, 20, false},
		{"foo 30 20", true, "", "", nil, 0, 0, true},
		{"foo x a b 5", false, "", "", nil, 0, 0, true},
		{"foo", false, "", "", nil, 0, 0, true},
		{"foo -1", false, "", "", nil, 0, 0, true},
		{"foo 99999999999", false, "", "", nil, 0, 0, true},
	}
	for _, tt := range tests {
		m, err := parseMsgArgs([]byte(tt.line), tt.header, nil)
		if (err != nil) != tt.werr {
			t.Errorf("parseMsgArgs(%q) error = %v; want error %v", tt.line, err, tt.werr)
			continue
		}
		if err != nil {
			continue
		}
		var qs []string
		for _, q := range m.queues {
			qs = append(qs, string(q))
		}
		if string(m.subject) != tt.wsubj || string(m.reply) != tt.wreply || len(qs) != len(tt.wqueues) || m.hdr != tt.whdr || m.size != tt.wlen {
			t.Errorf("parseMsgArgs(%q) = %q %q %q %d %d; want %q %q %q %d %d", tt.line, m.subject, m.reply, qs, m.hdr, m.size,
				tt.wsubj, tt.wreply, tt.wqueues, tt.whdr, tt.wlen)
		}
		for i := range qs {
			if qs[i] != tt.wqueues[i] {
				t.Errorf("parseMsgArgs(%q) queues %q; want %q", tt.line, qs, tt.wqueues)
			}
		}
	}
}
