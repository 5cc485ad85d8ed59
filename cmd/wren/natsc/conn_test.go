package natsc

import (
	"reflect"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in           string
		whost        string
		wtls         bool
		wuser, wpass string
		werr         bool
	}{
		{"127.0.0.1", "127.0.0.1:4222", false, "", "", false},
		{"nats://a:b@h:1", "h:1", false, "a", "b", false},
		{"tls://tok@h", "h:4222", true, "tok", "", false},
		{"http://h", "", false, "", "", true},
		{"nats://", "", false, "", "", true},
	}
	for _, tt := range tests {
		h, tls, u, p, err := ParseURL(tt.in)
		if (err != nil) != tt.werr || h != tt.whost || tls != tt.wtls || u != tt.wuser || p != tt.wpass {
			t.Errorf("ParseURL(%q) = %q, %v, %q, %q, %v; want %q, %v, %q, %q, err %v", tt.in, h, tls, u, p, err, tt.whost, tt.wtls, tt.wuser, tt.wpass, tt.werr)
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{"A": {"1", "2"}, "Trace-Id": {"x y"}}
	got, status, desc := ParseHeader(encodeHeader(h))
	if !reflect.DeepEqual(got, h) || status != "" || desc != "" {
		t.Errorf("round trip = %v %q %q; want %v", got, status, desc, h)
	}
	got, status, desc = ParseHeader([]byte("NATS/1.0 404 No Messages\r\n\r\n"))
	if len(got) != 0 || status != "404" || desc != "No Messages" {
		t.Errorf("status header = %v %q %q", got, status, desc)
	}
}
