package tests

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// syncPublisher publishes to a stream from a bare protocol socket, one
// message at a time, and reads each PubAck into buffers it reuses, so
// that what a publish allocates is the server's.
type syncPublisher struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	pub  []byte
	ack  []byte
}

const syncInbox = "_INBOX.sync.alloc"

func dialSyncPublisher(t testing.TB, j *jsServer) *syncPublisher {
	t.Helper()
	conn, err := net.Dial("tcp", j.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute))
	p := &syncPublisher{t: t, conn: conn, r: bufio.NewReaderSize(conn, 4096), ack: make([]byte, 0, 512)}
	if _, err := p.r.ReadSlice('\n'); err != nil { // INFO
		t.Fatal(err)
	}
	p.write([]byte(`CONNECT {"verbose":false,"headers":true,"protocol":1}` + "\r\nSUB " + syncInbox + " 1\r\nPING\r\n"))
	for {
		line, err := p.r.ReadSlice('\n')
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(line, []byte("PONG")) {
			return p
		}
		if bytes.HasPrefix(line, []byte("-ERR")) {
			t.Fatalf("connect: %s", line)
		}
	}
}

func (p *syncPublisher) write(b []byte) {
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatal(err)
	}
}

// publish sends data to subject and returns the PubAck's JSON, valid
// until the next publish.
func (p *syncPublisher) publish(subject string, data []byte) []byte {
	b := append(p.pub[:0], "PUB "...)
	b = append(b, subject...)
	b = append(b, " "+syncInbox+" "...)
	b = strconv.AppendInt(b, int64(len(data)), 10)
	b = append(b, "\r\n"...)
	b = append(b, data...)
	b = append(b, "\r\n"...)
	p.pub = b
	p.write(b)
	for {
		line, err := p.r.ReadSlice('\n')
		if err != nil {
			p.t.Fatal(err)
		}
		if bytes.HasPrefix(line, []byte("-ERR")) {
			p.t.Fatalf("publish: %s", line)
		}
		if !bytes.HasPrefix(line, []byte("MSG ")) {
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		size, err := strconv.Atoi(string(line[bytes.LastIndexByte(line, ' ')+1:]))
		if err != nil {
			p.t.Fatalf("bad MSG line %q", line)
		}
		if cap(p.ack) < size+2 {
			p.ack = make([]byte, size+2)
		}
		p.ack = p.ack[:size+2]
		if _, err := io.ReadFull(p.r, p.ack); err != nil {
			p.t.Fatal(err)
		}
		return p.ack[:size]
	}
}

// A synchronous durable publish, from the read buffer through the WAL's
// fsync to the PubAck, allocates a bounded few times: the stored copy and
// the encode buffers are reused from one publish to the next.
func TestJSSyncPublishAllocs(t *testing.T) {
	if raceBuild {
		t.Skip("allocation counts are not the code's under the race detector")
	}
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	mustCreate(t, js, jetstream.StreamConfig{Name: "ALLOC", Subjects: []string{"alloc.>"}})
	p := dialSyncPublisher(t, j)
	data := bytes.Repeat([]byte("x"), 200)
	publish := func() {
		if ack := p.publish("alloc.one", data); !bytes.Contains(ack, []byte(`"seq":`)) {
			t.Fatalf("answer %s", ack)
		}
	}
	for range 200 { // the log's segment, the caches and the scratch grow first
		publish()
	}
	allocs := testing.AllocsPerRun(500, publish)
	t.Logf("%.2f allocations per sync publish", allocs)
	if allocs > syncPublishAllocs {
		t.Errorf("a sync publish allocates %.2f times; want at most %d", allocs, syncPublishAllocs)
	}
}

// syncPublishAllocs is the most allocations a sync publish may cost.
const syncPublishAllocs = 1

// Copies of published messages are reused once stored: a stream fed as
// fast as a client can publish, messages of many sizes and subjects
// mixed, still holds every message exactly as it was published.
func TestReusedCopiesStoreEveryMessageIntact(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "INTACT", Subjects: []string{"intact.>"}})
	const n = 3000
	body := func(i int) []byte {
		b := make([]byte, (i*7919)%3000+1)
		for k := range b {
			b[k] = byte('a' + (i+k)%26)
		}
		return b
	}
	futures := publishAsyncBodies(t, js, n, func(i int) string { return "intact." + strconv.Itoa(i%13) }, body)
	for i, f := range futures {
		seq := futureSeq(t, f)
		m, err := s.GetMsg(jsCtx(t), seq)
		if err != nil {
			t.Fatalf("GetMsg(%d): %v", seq, err)
		}
		if want := "intact." + strconv.Itoa(i%13); m.Subject != want || !bytes.Equal(m.Data, body(i)) {
			t.Fatalf("message %d (seq %d) stored as %s with %d bytes; want %s with %d bytes as published", i, seq, m.Subject, len(m.Data), want, len(body(i)))
		}
	}
}
