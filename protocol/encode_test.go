package protocol

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	noResp := NoRespondersHeader(nil, []byte("svc.echo"))
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"msg", AppendMsg(nil, "foo.bar", "1", "", []byte("hello")), "MSG foo.bar 1 5\r\nhello\r\n"},
		{"msg reply", AppendMsg(nil, "foo.bar", "22", "_INBOX.x", []byte("hello")), "MSG foo.bar 22 _INBOX.x 5\r\nhello\r\n"},
		{"msg empty", AppendMsg(nil, "foo", "9", "", nil), "MSG foo 9 0\r\n\r\n"},
		{"msg bytes", AppendMsg(nil, []byte("a.b"), "3", []byte("r"), []byte("x\r\ny")), "MSG a.b 3 r 4\r\nx\r\ny\r\n"},
		{"msg nil reply bytes", AppendMsg(nil, "a", "3", []byte(nil), []byte("x")), "MSG a 3 1\r\nx\r\n"},
		{"msg appends", AppendMsg([]byte("PONG\r\n"), "a", "1", "", []byte("x")), "PONG\r\nMSG a 1 1\r\nx\r\n"},
		{"hmsg doc example", AppendHMsg(nil, "FOO.BAR", "9", "", []byte("NATS/1.0\r\nBar: Baz\r\n\r\n"), []byte("Hello NATS!")),
			"HMSG FOO.BAR 9 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n"},
		{"hmsg reply", AppendHMsg(nil, "FOO.BAR", "9", "BAZ.69", []byte("NATS/1.0\r\n\r\n"), []byte("hi")),
			"HMSG FOO.BAR 9 BAZ.69 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"},
		{"hmsg no responders", AppendHMsg(nil, "_INBOX.r", "7", "", noResp, nil),
			"HMSG _INBOX.r 7 40 40\r\nNATS/1.0 503\r\nNats-Subject: svc.echo\r\n\r\n\r\n"},
		{"err", AppendErr(nil, "Unknown Protocol Operation"), "-ERR 'Unknown Protocol Operation'\r\n"},
		{"err permissions", AppendErr(nil, `Permissions Violation for Publish to "a.b"`),
			"-ERR 'Permissions Violation for Publish to \"a.b\"'\r\n"},
		{"err unknown op text", AppendErr(nil, ErrUnknownOp.Error()), "-ERR 'Unknown Protocol Operation'\r\n"},
		{"err max payload text", AppendErr(nil, ErrMaxPayload.Error()), "-ERR 'Maximum Payload Violation'\r\n"},
		{"err max control line text", AppendErr(nil, ErrMaxControlLine.Error()), "-ERR 'maximum control line exceeded'\r\n"},
		{"info", AppendInfo(nil, []byte(`{"server_id":"S","proto":1,"headers":true}`)),
			"INFO {\"server_id\":\"S\",\"proto\":1,\"headers\":true}\r\n"},
		{"pub", AppendPub(nil, "foo", "", nil, []byte("hello")), "PUB foo 5\r\nhello\r\n"},
		{"pub reply", AppendPub(nil, "foo", "r.1", nil, []byte("hello")), "PUB foo r.1 5\r\nhello\r\n"},
		{"pub empty", AppendPub(nil, "foo", "", nil, nil), "PUB foo 0\r\n\r\n"},
		{"hpub", AppendPub(nil, "FOO", "", []byte("NATS/1.0\r\nBar: Baz\r\n\r\n"), []byte("Hello NATS!")), docHPUB},
		{"hpub reply", AppendPub(nil, "foo", "r", []byte("NATS/1.0\r\n\r\n"), []byte("x")), "HPUB foo r 12 13\r\nNATS/1.0\r\n\r\nx\r\n"},
		{"hpub empty header", AppendPub(nil, "foo", "", []byte{}, []byte("x")), "HPUB foo 0 1\r\nx\r\n"},
		{"ping", PingLine, "PING\r\n"},
		{"pong", PongLine, "PONG\r\n"},
		{"ok", OKLine, "+OK\r\n"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: got %q; want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestEncodeAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	hdr, data, reply := []byte("NATS/1.0\r\n\r\n"), []byte("hello"), []byte("_INBOX.1")
	if n := testing.AllocsPerRun(100, func() {
		b := AppendMsg(dst[:0], "foo.bar", "12", reply, data)
		b = AppendHMsg(b, []byte("foo.bar"), "12", "", hdr, data)
		AppendPub(b, "foo", "r", hdr, data)
	}); n != 0 {
		t.Errorf("allocs = %v; want 0", n)
	}
}

type pubCase struct {
	subject, reply  string
	header, payload []byte
}

func (pc pubCase) want() call {
	if pc.header == nil {
		return pub(pc.subject, pc.reply, string(pc.payload))
	}
	return hpub(pc.subject, pc.reply, string(pc.header), string(pc.payload))
}

// TestPubRoundTrip encodes with AppendPub, parses the bytes back whole and
// split at every position, and expects the same subject, reply, header
// and payload.
func TestPubRoundTrip(t *testing.T) {
	hdr := AppendHeaderEnd(AppendHeaderField(AppendHeaderStart(nil, 0, ""), "Nats-Msg-Id", "1"))
	tests := []pubCase{
		{"foo", "", nil, []byte("hello")},
		{"foo.bar", "_INBOX.a.b", nil, []byte("hello")},
		{"foo", "", nil, nil},
		{"foo", "", nil, []byte("\r\n")},
		{"foo", "", nil, []byte("PUB foo 1\r\nx\r\n")},
		{"foo", "", hdr, []byte("payload")},
		{"foo", "r", hdr, nil},
		{"foo", "r", []byte{}, []byte("x")},
		{"$JS.API.STREAM.CREATE.S", "_INBOX.z", nil, []byte(`{"name":"S","subjects":["s.>"]}`)},
		{"big", "", hdr, []byte(strings.Repeat("0123456789", 7000))},
	}
	var all []byte
	var want []call
	for _, pc := range tests {
		frame := AppendPub(nil, pc.subject, pc.reply, pc.header, pc.payload)
		all = append(all, frame...)
		want = append(want, pc.want())
		tc := parseCase{in: string(frame), want: []call{pc.want()}}
		got, err := feed(&Parser{}, frame)
		checkCalls(t, fmt.Sprintf("%q whole", frame[:min(len(frame), 40)]), tc, got, err)
		if len(frame) > 1000 {
			continue
		}
		for cut := range len(frame) + 1 {
			got, err := feed(&Parser{}, frame[:cut], frame[cut:])
			checkCalls(t, fmt.Sprintf("%q split at %d", frame, cut), tc, got, err)
		}
	}
	tc := parseCase{in: string(all), want: want}
	got, err := feed(&Parser{}, all)
	checkCalls(t, "pipelined", tc, got, err)
	got, err = feed(&Parser{}, all[:len(all)/2], all[len(all)/2:])
	checkCalls(t, "pipelined split", tc, got, err)
}

func FuzzPubRoundTrip(f *testing.F) {
	f.Add("foo", "", false, []byte(""), []byte("hello"))
	f.Add("foo.bar", "_INBOX.1", true, []byte("NATS/1.0\r\nA: b\r\n\r\n"), []byte("x\r\n"))
	f.Fuzz(func(t *testing.T, subject, reply string, withHeader bool, header, payload []byte) {
		if !ValidLiteral(subject) || (reply != "" && !ValidLiteral(reply)) ||
			len(subject)+len(reply) > DefaultMaxControlLine-32 {
			return
		}
		if !withHeader {
			header = nil
		} else if header == nil {
			header = []byte{}
		}
		pc := pubCase{subject, reply, header, payload}
		frame := AppendPub(nil, subject, reply, header, payload)
		got, err := feed(&Parser{}, frame)
		if err != nil || !reflect.DeepEqual(got, []call{pc.want()}) {
			t.Fatalf("AppendPub then Parse of %q = %v, %v; want %v", frame, got, err, pc.want())
		}
	})
}

// The control line alone, followed by the header, payload and CRLF sent
// from elsewhere, is the same MSG or HMSG as the whole operation.
func TestAppendMsgLine(t *testing.T) {
	payload, header := []byte("hello"), []byte("NATS/1.0\r\nA: b\r\n\r\n")
	for _, reply := range []string{"", "r.1"} {
		got := append(AppendMsgLine(nil, "a.b", "7", reply, len(payload)), payload...)
		if want := AppendMsg(nil, "a.b", "7", reply, payload); string(append(got, "\r\n"...)) != string(want) {
			t.Errorf("MSG line + payload = %q; want %q", got, want)
		}
		got = AppendHMsgLine(nil, "a.b", "7", reply, len(header), len(header)+len(payload))
		got = append(append(append(got, header...), payload...), "\r\n"...)
		if want := AppendHMsg(nil, "a.b", "7", reply, header, payload); string(got) != string(want) {
			t.Errorf("HMSG line + body = %q; want %q", got, want)
		}
	}
}
