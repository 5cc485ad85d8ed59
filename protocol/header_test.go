package protocol

import (
	"reflect"
	"testing"
)

func TestAppendHeader(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"version only", AppendHeaderStart(nil, 0, ""), "NATS/1.0\r\n"},
		{"description needs a status", AppendHeaderStart(nil, 0, "ignored"), "NATS/1.0\r\n"},
		{"status", AppendHeaderStart(nil, 503, ""), "NATS/1.0 503\r\n"},
		{"status and description", AppendHeaderStart(nil, StatusTimeout, "Request Timeout"), "NATS/1.0 408 Request Timeout\r\n"},
		{"field", AppendHeaderField(nil, "Nats-Msg-Id", "abc"), "Nats-Msg-Id: abc\r\n"},
		{"end", AppendHeaderEnd(nil), "\r\n"},
		{"appends", AppendHeaderField([]byte("x"), "A", "b"), "xA: b\r\n"},
		{"doc example", AppendHeaderEnd(AppendHeaderField(AppendHeaderStart(nil, 0, ""), "Bar", "Baz")),
			"NATS/1.0\r\nBar: Baz\r\n\r\n"},
		{"pending", AppendHeaderEnd(
			AppendHeaderField(AppendHeaderField(AppendHeaderStart(nil, StatusTimeout, "Request Timeout"),
				"Nats-Pending-Messages", "3"), "Nats-Pending-Bytes", "120")),
			"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\nNats-Pending-Bytes: 120\r\n\r\n"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: got %q; want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestNoRespondersHeader(t *testing.T) {
	for _, subj := range []string{"a", "foo.bar", "$JS.API.STREAM.INFO.ORDERS", "svc.échange"} {
		got := NoRespondersHeader(nil, []byte(subj))
		want := "NATS/1.0 503\r\nNats-Subject: " + subj + "\r\n\r\n"
		if string(got) != want {
			t.Errorf("NoRespondersHeader(%q) = %q; want %q", subj, got, want)
		}
		// PROTOCOL.md: hdrLen = 32 + len(subj).
		if len(got) != 32+len(subj) {
			t.Errorf("len(NoRespondersHeader(%q)) = %d; want %d", subj, len(got), 32+len(subj))
		}
		if code, desc := HeaderStatus(got); code != StatusNoResponders || desc != "" {
			t.Errorf("HeaderStatus(%q) = %d, %q; want 503, \"\"", got, code, desc)
		}
		if v := HeaderGet(got, "nats-subject"); string(v) != subj {
			t.Errorf("HeaderGet(%q, nats-subject) = %q; want %q", got, v, subj)
		}
	}
	if got := NoRespondersHeader([]byte("HMSG "), []byte("x")); string(got) != "HMSG NATS/1.0 503\r\nNats-Subject: x\r\n\r\n" {
		t.Errorf("NoRespondersHeader does not append: %q", got)
	}
}

func TestHeaderStatus(t *testing.T) {
	tests := []struct {
		hdr   string
		wcode int
		wdesc string
	}{
		{"NATS/1.0 503\r\n\r\n", 503, ""},
		{"NATS/1.0 503", 503, ""},
		{"NATS/1.0 503 \r\n\r\n", 503, ""},
		{"NATS/1.0\t503\tNo Responders\r\n\r\n", 503, "No Responders"},
		{"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n", 408, "Request Timeout"},
		{"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\n\r\n", 100, "Idle Heartbeat"},
		{"NATS/1.0 409 Message Size Exceeds MaxBytes\r\n\r\n", 409, "Message Size Exceeds MaxBytes"},
		{"NATS/1.0 404 No Messages\n\n", 404, "No Messages"},
		{"NATS/1.0  404   No Messages  \r\n\r\n", 404, "No Messages"},
		{"NATS/1.0\r\n\r\n", 0, ""},
		{"NATS/1.0\r\nStatus: 503\r\n\r\n", 0, ""},
		{"NATS/1.0\r\nFoo: 503 bar\r\n\r\n", 0, ""},
		{"", 0, ""},
		{"HTTP/1.1 200 OK\r\n\r\n", 0, ""},
		{"nats/1.0 503\r\n\r\n", 0, ""},
		{"NATS/1.0 50\r\n\r\n", 0, ""},
		{"NATS/1.0 5x3\r\n\r\n", 0, ""},
		{"NATS/1.0 5034\r\n\r\n", 0, ""},
		{"NATS/1.0 503x Foo\r\n\r\n", 0, ""},
		{"NATS/1.0503\r\n\r\n", 0, ""},
		{"NATS/1.01 503\r\n\r\n", 0, ""},
	}
	for _, tt := range tests {
		code, desc := HeaderStatus([]byte(tt.hdr))
		if code != tt.wcode || desc != tt.wdesc {
			t.Errorf("HeaderStatus(%q) = %d, %q; want %d, %q", tt.hdr, code, desc, tt.wcode, tt.wdesc)
		}
	}
}

const testHeader = "NATS/1.0 408 Request Timeout\r\n" +
	"Nats-Msg-Id: abc\r\n" +
	"foo: 1\r\n" +
	"FOO:2\r\n" +
	"Spaced:   a b  \r\n" +
	"no colon line\r\n" +
	"Url: http://x:80/y\r\n" +
	"Foo: 3\r\n" +
	"Empty:\r\n" +
	"\r\n" +
	"Foo: after the end\r\n"

func TestHeaderGet(t *testing.T) {
	hdr := []byte(testHeader)
	tests := []struct {
		name string
		want string // "<nil>" for absent
	}{
		{"Nats-Msg-Id", "abc"},
		{"nats-msg-id", "abc"},
		{"NATS-MSG-ID", "abc"},
		{"Foo", "1"},
		{"foo", "1"},
		{"Spaced", "a b"},
		{"Url", "http://x:80/y"},
		{"Empty", ""},
		{"Fo", "<nil>"},
		{"Fooo", "<nil>"},
		{"Missing", "<nil>"},
		{"no colon line", "<nil>"},
		{"NATS/1.0 408 Request Timeout", "<nil>"},
	}
	for _, tt := range tests {
		v := HeaderGet(hdr, tt.name)
		got := string(v)
		if v == nil {
			got = "<nil>"
		}
		if got != tt.want {
			t.Errorf("HeaderGet(hdr, %q) = %q; want %q", tt.name, got, tt.want)
		}
	}
	if v := HeaderGet(nil, "Foo"); v != nil {
		t.Errorf("HeaderGet(nil, Foo) = %q; want nil", v)
	}
	if n := testing.AllocsPerRun(100, func() { HeaderGet(hdr, "nats-msg-id") }); n != 0 {
		t.Errorf("HeaderGet allocs = %v; want 0", n)
	}
}

// TestHeaderGetEach reads many fields in one pass and must answer as
// HeaderGet does for each of them.
func TestHeaderGetEach(t *testing.T) {
	names := []string{"Nats-Msg-Id", "foo", "Spaced", "Url", "Empty", "Fo", "Missing", "no colon line", "NATS/1.0 408 Request Timeout", "FOO"}
	for _, hdr := range [][]byte{[]byte(testHeader), nil, []byte("NATS/1.0\r\n\r\n"), []byte("NATS/1.0\r\nFoo:\r\nfoo: 2\r\n\r\n")} {
		vals := make([][]byte, len(names))
		for i := range vals {
			vals[i] = []byte("stale")
		}
		HeaderGetEach(hdr, names, vals)
		for i, name := range names {
			want := HeaderGet(hdr, name)
			if (vals[i] == nil) != (want == nil) || string(vals[i]) != string(want) {
				t.Errorf("HeaderGetEach(%q)[%q] = %q (nil %v); HeaderGet says %q (nil %v)",
					hdr, name, vals[i], vals[i] == nil, want, want == nil)
			}
		}
	}
	hdr := []byte(testHeader)
	vals := make([][]byte, len(names))
	if n := testing.AllocsPerRun(100, func() { HeaderGetEach(hdr, names, vals) }); n != 0 {
		t.Errorf("HeaderGetEach allocs = %v; want 0", n)
	}
}

func TestHeaderValues(t *testing.T) {
	hdr := []byte(testHeader)
	tests := []struct {
		name string
		want []string
	}{
		{"foo", []string{"1", "2", "3"}},
		{"FOO", []string{"1", "2", "3"}},
		{"Nats-Msg-Id", []string{"abc"}},
		{"Empty", []string{""}},
		{"Missing", nil},
	}
	for _, tt := range tests {
		if got := HeaderValues(hdr, tt.name); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("HeaderValues(hdr, %q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestHeaderFields(t *testing.T) {
	var got []string
	HeaderFields([]byte(testHeader), func(n, v []byte) bool {
		got = append(got, string(n)+"="+string(v))
		return true
	})
	want := []string{"Nats-Msg-Id=abc", "foo=1", "FOO=2", "Spaced=a b", "Url=http://x:80/y", "Foo=3", "Empty="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %q; want %q", got, want)
	}

	got = got[:0]
	HeaderFields([]byte(testHeader), func(n, v []byte) bool {
		got = append(got, string(n))
		return len(got) < 2
	})
	if !reflect.DeepEqual(got, []string{"Nats-Msg-Id", "foo"}) {
		t.Errorf("fields after stopping at 2 = %q", got)
	}

	// Bare LF line endings and a block without its closing blank line.
	got = got[:0]
	HeaderFields([]byte("NATS/1.0\nA: 1\nB: 2"), func(n, v []byte) bool {
		got = append(got, string(n)+"="+string(v))
		return true
	})
	if !reflect.DeepEqual(got, []string{"A=1", "B=2"}) {
		t.Errorf("bare LF fields = %q", got)
	}
}
