package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// hostileHeaderFields are header lines a publisher gets wrong on purpose:
// junk in every header the stream layer reads, odd spellings, repeats.
var hostileHeaderFields = []string{
	"Nats-Msg-Id: ", "Nats-Msg-Id: " + strings.Repeat("i", 20000), "Nats-Msg-Id: keep-3", "nats-msg-id: junk",
	"Nats-Msg-Id: \x00\x01", "Nats-Msg-Id:no-space", "Nats-Msg-Id : spaced",
	"Nats-Expected-Last-Sequence: abc", "Nats-Expected-Last-Sequence: -1", "Nats-Expected-Last-Sequence: 0",
	"Nats-Expected-Last-Sequence: 18446744073709551615", "Nats-Expected-Last-Sequence: 99999999999999999999999",
	"Nats-Expected-Last-Sequence:", "Nats-Expected-Last-Sequence:  7 ",
	"Nats-Expected-Last-Subject-Sequence: 1", "Nats-Expected-Last-Subject-Sequence: x",
	"Nats-Expected-Last-Subject-Sequence-Subject: hdr.keep.*", "Nats-Expected-Last-Subject-Sequence-Subject: >",
	"Nats-Expected-Last-Subject-Sequence-Subject: a..b",
	"Nats-Expected-Stream: ", "Nats-Expected-Stream: H", "Nats-Expected-Stream: OTHER",
	"Nats-Expected-Last-Msg-Id: ", "Nats-Expected-Last-Msg-Id: keep-0",
	"Nats-TTL: abc", "Nats-TTL: -1", "Nats-TTL: 0", "Nats-TTL: 1", "Nats-TTL: never", "Nats-TTL: 0.5s",
	"Nats-TTL: 9223372036854775807", "Nats-TTL: 1e9", "Nats-TTL: 2562047h", "Nats-TTL: 99999999999h", "Nats-TTL: 1h1h",
	"Nats-Rollup: ", "Nats-Rollup: SUB", "Nats-Rollup: al", "Nats-Rollup: sub", "Nats-Rollup: subject", "Nats-Rollup: all sub",
	"X: y", ": no name", "no colon at all", strings.Repeat("N", 3000) + ": long name", "\x00: \x00",
}

// hostileHeader builds a header block, well formed or not.
func hostileHeader(r *rand.Rand) []byte {
	var fields []string
	for range r.IntN(4) {
		fields = append(fields, hostileHeaderFields[r.IntN(len(hostileHeaderFields))])
	}
	lines := strings.Join(fields, "\r\n")
	if lines != "" {
		lines += "\r\n"
	}
	switch r.IntN(10) {
	case 0: // no version line
		return []byte(lines + "\r\n")
	case 1: // no blank line at the end
		return []byte("NATS/1.0\r\n" + strings.TrimSuffix(lines, "\r\n"))
	case 2: // only line ends
		return bytes.Repeat([]byte("\r\n"), 1+r.IntN(5))
	case 3: // LF line ends
		return []byte(strings.ReplaceAll("NATS/1.0\r\n"+lines+"\r\n", "\r\n", "\n"))
	case 4: // anything
		return randomBytes(r, r.IntN(100))
	case 5: // a status line
		return []byte("NATS/1.0 " + []string{"503", "100 Idle Heartbeat", "404 x", "9999", "abc"}[r.IntN(5)] + "\r\n" + lines + "\r\n")
	case 6:
		return []byte{}
	}
	return []byte("NATS/1.0\r\n" + lines + "\r\n")
}

// storedMsgReply is a STREAM.MSG.GET response.
type storedMsgReply struct {
	Message *struct {
		Subject string `json:"subject"`
		Seq     uint64 `json:"seq"`
		Header  []byte `json:"hdrs"`
		Data    []byte `json:"data"`
	} `json:"message"`
	Error *struct {
		Description string `json:"description"`
	} `json:"error"`
}

// TestHostileStreamHeaders publishes hundreds of messages with junk
// headers and malformed header blocks to a stream. Each gets exactly one
// PubAck, a success or a complete error; each stored message is stored
// byte for byte as sent (but for an inline status after NATS/1.0, which a
// stream drops as nats-server does), and subscribers with and without header support
// get it as sent; the messages acknowledged before are all still there,
// also after a restart.
func TestHostileStreamHeaders(t *testing.T) {
	r := hostileRand(t, 1001)
	dir := t.TempDir()
	base := runtime.NumGoroutine()
	j := startJS(t, dir)
	nc, js := jsConnect(t, j)
	ctx := jsCtx(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "H", Subjects: []string{"hdr.>"}, AllowRollup: true, AllowMsgTTL: true}); err != nil {
		t.Fatal(err)
	}
	kept := publishKept(t, js, "hdr.keep", 20)
	h := startHealthyClient(t, j.srv)
	h.run()

	rc := dialRaw(t, j.srv)
	rc.connect(`"headers":true,"no_responders":true`)
	rc.send("SUB _HDR.> 1\r\nSUB hdr.junk.> 2\r\n")
	plain := dialRaw(t, j.srv)
	plain.connect(`"headers":false`)
	plain.send("SUB hdr.junk.> 1\r\n")
	plain.ping()
	rc.ping()

	stored, refused := 0, 0
	for i := range 300 {
		hdr := hostileHeader(r)
		data := randomBytes(r, r.IntN(64))
		subj := fmt.Sprintf("hdr.junk.%d", i%4)
		rc.send(fmt.Sprintf("HPUB %s _HDR.ack.%d %d %d\r\n%s%s\r\n", subj, i, len(hdr), len(hdr)+len(data), hdr, data))
		var echo *rawMsg
		var ack []byte
		for echo == nil || ack == nil {
			m := rc.readMsg(rc.readLine())
			switch m.subject {
			case subj:
				echo = &m
			case fmt.Sprintf("_HDR.ack.%d", i):
				ack = m.data
			default:
				t.Fatalf("publish %d: unexpected message on %s", i, m.subject)
			}
		}
		if !bytes.Equal(echo.header, hdr) || !bytes.Equal(echo.data, data) {
			t.Fatalf("publish %d: subscriber got %q %q; sent %q %q", i, echo.header, echo.data, hdr, data)
		}
		if pm := plain.readMsg(plain.readLine()); pm.op != "MSG" || !bytes.Equal(pm.data, data) {
			t.Fatalf("publish %d: subscriber without headers got %s %q; want MSG %q", i, pm.op, pm.data, data)
		}
		var pa struct {
			Stream string `json:"stream"`
			Seq    uint64 `json:"seq"`
			Dup    bool   `json:"duplicate"`
		}
		if err := checkPubAck(ack); err != nil {
			t.Fatalf("publish %d with header %q: PubAck %q: %v", i, trunc(hdr), ack, err)
		}
		json.Unmarshal(ack, &pa)
		if strings.Contains(string(ack), `"error"`) || pa.Dup {
			refused++
			continue
		}
		stored++
		// Stored as sent.
		rc.send(fmt.Sprintf("PUB $JS.API.STREAM.MSG.GET.H _HDR.get %d\r\n{\"seq\":%d}\r\n", len(fmt.Sprintf(`{"seq":%d}`, pa.Seq)), pa.Seq))
		m := rc.readMsg(rc.readLine())
		var got storedMsgReply
		if err := json.Unmarshal(m.data, &got); err != nil || got.Message == nil {
			t.Fatalf("publish %d: get seq %d: %q", i, pa.Seq, trunc(m.data))
		}
		if got.Message.Subject != subj || !bytes.Equal(got.Message.Header, storedHeader(hdr)) || !bytes.Equal(got.Message.Data, data) {
			t.Fatalf("publish %d: stored %s %q %q; sent %s %q %q, want %q stored", i, got.Message.Subject, got.Message.Header, got.Message.Data, subj, hdr, data, storedHeader(hdr))
		}
	}
	t.Logf("%d stored, %d refused or duplicates", stored, refused)
	h.halt()
	checkKept(t, js, "H", kept, false)
	nc.Close()

	j.stop()
	j = startJS(t, dir)
	nc, js = jsConnect(t, j)
	checkKept(t, js, "H", kept, false)
	nc.Close()
	j.stop()
	waitGoroutines(t, base)
}

// checkPubAck checks a PubAck: stream H and a sequence, or a complete
// error.
func checkPubAck(b []byte) error {
	var pa struct {
		Stream string `json:"stream"`
		Seq    uint64 `json:"seq"`
		Error  *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &pa); err != nil {
		return err
	}
	if pa.Error != nil {
		if pa.Error.Code < 400 || pa.Error.ErrCode <= 0 || pa.Error.Description == "" {
			return fmt.Errorf("incomplete error")
		}
		return nil
	}
	if pa.Stream != "H" || pa.Seq == 0 {
		return fmt.Errorf("no stream or sequence")
	}
	return nil
}

// storedHeader is what a stream keeps of a header block a client sent: an
// inline status after the NATS/1.0 version is dropped, as nats-server
// drops it; the rest is kept byte for byte.
func storedHeader(hdr []byte) []byte {
	const version = "NATS/1.0"
	if end := bytes.IndexAny(hdr, "\r\n"); end > len(version) && bytes.HasPrefix(hdr, []byte(version)) {
		return append([]byte(version), hdr[end:]...)
	}
	return hdr
}
