package tests

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// Request templates the mutator starts from; NAME is replaced by the
// stream named in the subject.
const (
	tmplStream = `{"name":"NAME","subjects":["scratch.NAME.>"],"retention":"limits","max_consumers":5,"max_msgs":10,` +
		`"max_bytes":10000,"max_age":1000000000,"max_msgs_per_subject":2,"max_msg_size":100,"storage":"memory",` +
		`"discard":"old","num_replicas":1,"duplicate_window":1000000000,"allow_direct":true,"allow_rollup_hdrs":true,` +
		`"first_seq":5,"compression":"s2","allow_msg_ttl":true,"metadata":{"a":"b"},"dead_letter_stream":"DLQ",` +
		`"mirror":null,"sources":[],"deny_delete":false,"description":"d"}`
	tmplInfo    = `{"deleted_details":true,"subjects_filter":">","offset":0}`
	tmplPurge   = `{"filter":"scratch.a","seq":3,"keep":1}`
	tmplList    = `{"offset":0,"subject":"scratch.>"}`
	tmplMsgGet  = `{"seq":1,"last_by_subj":"keep.1","next_by_subj":"keep.>"}`
	tmplMsgDel  = `{"seq":1,"no_erase":true}`
	tmplPull    = `{"batch":2,"expires":100000000,"max_bytes":1000,"no_wait":true,"idle_heartbeat":0}`
	tmplReplay  = `{"seq":1,"seqs":[1,2],"keep":true}`
	tmplConsume = `{"stream_name":"NAME","action":"create","config":{"durable_name":"D1","deliver_policy":"by_start_sequence",` +
		`"opt_start_seq":1,"ack_policy":"explicit","ack_wait":1000000000,"max_deliver":3,"backoff":[1000000000],` +
		`"filter_subject":"keep.>","replay_policy":"instant","max_waiting":10,"max_ack_pending":5,"max_batch":10,` +
		`"max_expires":1000000000,"inactive_threshold":1000000000,"headers_only":false,"metadata":{"x":"y"},` +
		`"num_replicas":0,"mem_storage":true}}`
)

// apiOp is one kind of API request: its subject with %s for a stream and
// %c for a consumer name, and its body template.
type apiOp struct {
	subject, tmpl string
	mutates       bool // changes the stream's contents when it succeeds
}

var hostileAPIOps = []apiOp{
	{"$JS.API.INFO", "", false},
	{"$JS.API.STREAM.CREATE.%s", tmplStream, false},
	{"$JS.API.STREAM.UPDATE.%s", tmplStream, true},
	{"$JS.API.STREAM.INFO.%s", tmplInfo, false},
	{"$JS.API.STREAM.DELETE.%s", "", true},
	{"$JS.API.STREAM.PURGE.%s", tmplPurge, true},
	{"$JS.API.STREAM.NAMES", tmplList, false},
	{"$JS.API.STREAM.LIST", tmplList, false},
	{"$JS.API.STREAM.MSG.GET.%s", tmplMsgGet, false},
	{"$JS.API.STREAM.MSG.DELETE.%s", tmplMsgDel, true},
	{"$JS.API.DIRECT.GET.%s", tmplMsgGet, false},
	{"$JS.API.DIRECT.GET.%s.keep.1", "", false},
	{"$JS.API.CONSUMER.CREATE.%s", tmplConsume, false},
	{"$JS.API.CONSUMER.CREATE.%s.%c", tmplConsume, false},
	{"$JS.API.CONSUMER.CREATE.%s.%c.keep.>", tmplConsume, false},
	{"$JS.API.CONSUMER.DURABLE.CREATE.%s.%c", tmplConsume, false},
	{"$JS.API.CONSUMER.INFO.%s.%c", "", false},
	{"$JS.API.CONSUMER.DELETE.%s.%c", "", false},
	{"$JS.API.CONSUMER.NAMES.%s", tmplList, false},
	{"$JS.API.CONSUMER.LIST.%s", tmplList, false},
	{"$JS.API.CONSUMER.MSG.NEXT.%s.%c", tmplPull, false},
	{"$JS.API.STREAM.INFO", tmplInfo, false},
	{"$JS.API.STREAM.INFO.%s.extra", tmplInfo, false},
	{"$JS.API.%c", "", false},
	{"$JS.API.CONSUMER.%c.%s", "", false},
	{"$WREN.API.DLQ.REPLAY.%s", tmplReplay, true},
}

// hostileToken returns a subject token that is strange but still a
// token: no dots, no blanks, no CR or LF.
func hostileToken(r *rand.Rand) string {
	fixed := []string{"*", ">", "\x01", "\xff\xfe", "ünïcødé", "a*b", "a>b", "%", "-", strings.Repeat("n", 255), strings.Repeat("n", 300), "$JS", "ACK", "0"}
	if r.IntN(2) == 0 {
		return fixed[r.IntN(len(fixed))]
	}
	b := make([]byte, 1+r.IntN(20))
	for i := range b {
		for {
			c := byte(r.IntN(256))
			if c != '.' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' {
				b[i] = c
				break
			}
		}
	}
	return string(b)
}

// hostileRequest is one request the attack sends.
type hostileRequest struct {
	subject string
	body    []byte
	next    bool // a pull request: answered by the consumer, maybe later
}

// hostileRequests builds n requests. The protected stream KEEP is the
// target only of requests that cannot change its contents.
func hostileRequests(r *rand.Rand, n int) []hostileRequest {
	m := jsMutator{r}
	streams := []string{"KEEP", "SCRATCH", "NEW1", "NEW2", "DLQ"}
	consumers := []string{"C", "P", "D1", "E"}
	var reqs []hostileRequest
	for range n {
		op := hostileAPIOps[r.IntN(len(hostileAPIOps))]
		stream := streams[r.IntN(len(streams))]
		if r.IntN(5) == 0 {
			stream = hostileToken(r)
		}
		if op.mutates && stream == "KEEP" {
			stream = "SCRATCH"
		}
		cons := consumers[r.IntN(len(consumers))]
		if r.IntN(5) == 0 {
			cons = hostileToken(r)
		}
		subj := strings.ReplaceAll(strings.ReplaceAll(op.subject, "%s", stream), "%c", cons)
		quoted, _ := json.Marshal(stream)
		tmpl := strings.ReplaceAll(op.tmpl, "NAME", string(quoted[1:len(quoted)-1]))
		var body []byte
		switch {
		case tmpl == "" && r.IntN(2) == 0:
		case tmpl == "":
			body = m.body(`{"a":1}`)
		default:
			body = m.body(tmpl)
		}
		if strings.Contains(subj, "DLQ.REPLAY.KEEP") {
			continue
		}
		reqs = append(reqs, hostileRequest{subject: subj, body: body, next: strings.Contains(subj, ".MSG.NEXT.")})
	}
	return reqs
}

// hostileAcks builds publishes to ack subjects: made-up ones with odd
// tokens, and the real ones of messages delivered but not yet acked, with
// every kind of ack body and junk.
func hostileAcks(r *rand.Rand, n int, real []string) []hostileRequest {
	bodies := []string{"", "+ACK", "+OK", "-NAK", `-NAK {"delay":-1}`, `-NAK {"delay":9223372036854775807}`,
		"-NAK 99999999h", "-NAK -5s", "+WPI", "+TERM", "+TERM " + strings.Repeat("r", 5000), "+NXT",
		`+NXT {"batch":-1}`, `+NXT {"batch":1000000000}`, "+NXT 99999999999999999999", "+NXT {", "-NAK {", "+ACK+ACK"}
	var acks []hostileRequest
	for range n {
		var subj string
		if len(real) > 0 && r.IntN(3) == 0 {
			subj = real[r.IntN(len(real))]
		} else {
			toks := []string{"KEEP", "C", "1", "1", "1", "1", "1"}
			for i := range toks {
				switch r.IntN(4) {
				case 0:
					toks[i] = hostileToken(r)
				case 1:
					toks[i] = []string{"0", "18446744073709551615", "18446744073709551616", "-1", "99999999999999999999"}[r.IntN(5)]
				}
			}
			toks = toks[:r.IntN(len(toks)+1)]
			if r.IntN(4) == 0 {
				toks = append(toks, "extra", "tokens")
			}
			subj = strings.Join(append([]string{"$JS", "ACK"}, toks...), ".")
		}
		var body []byte
		if r.IntN(4) == 0 {
			body = randomBytes(r, r.IntN(100))
		} else {
			body = []byte(bodies[r.IntN(len(bodies))])
		}
		acks = append(acks, hostileRequest{subject: subj, body: body})
	}
	return acks
}

// TestHostileJSAPI sends a thousand mutated and random requests to every
// JetStream API subject and hundreds of forged acks, over a raw
// connection, while a nats.go client keeps using the server. Every API
// request is answered exactly once, with a typed response or a complete
// error (direct gets and pull requests with their status messages); no
// handler panics; and the stream KEEP, which no request was allowed to
// change, still holds every acknowledged message, also after a restart.
func TestHostileJSAPI(t *testing.T) {
	r := hostileRand(t, 4222)
	dir := t.TempDir()
	base := runtime.NumGoroutine()
	j := startJS(t, dir)
	nc, js := jsConnect(t, j)
	ctx := jsCtx(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"keep.>"}, AllowDirect: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SCRATCH", Subjects: []string{"scratch.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	kept := publishKept(t, js, "keep", 30)
	for i := range 10 {
		if _, err := js.Publish(ctx, "scratch."+strconv.Itoa(i%3), []byte("scratch")); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "KEEP", jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "SCRATCH", jetstream.ConsumerConfig{Durable: "P", AckPolicy: jetstream.AckAllPolicy}); err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(10)
	if err != nil {
		t.Fatal(err)
	}
	var ackSubjects []string
	for m := range batch.Messages() {
		ackSubjects = append(ackSubjects, m.Reply())
	}
	h := startHealthyClient(t, j.srv)
	h.run()

	rc := dialRaw(t, j.srv)
	rc.connect(`"headers":true,"no_responders":true`)
	rc.send("SUB _HOSTILE.> 1\r\n")
	reqs := hostileRequests(r, 1000)
	acks := hostileAcks(r, 400, ackSubjects)
	got := make(map[int]int)
	const window = 32
	for start := 0; start < len(reqs); start += window {
		end := min(start+window, len(reqs))
		for i := start; i < end; i++ {
			q := reqs[i]
			rc.send(fmt.Sprintf("PUB %s _HOSTILE.%d %d\r\n%s\r\n", q.subject, i, len(q.body), q.body))
		}
		// Ack junk goes in between, some with replies of their own.
		for _, a := range acks[start*len(acks)/len(reqs) : end*len(acks)/len(reqs)] {
			reply := ""
			if len(a.body)%2 == 0 {
				reply = " _HOSTILE.ack"
			}
			rc.send(fmt.Sprintf("PUB %s%s %d\r\n%s\r\n", a.subject, reply, len(a.body), a.body))
		}
		waiting := func() bool {
			for i := start; i < end; i++ {
				if !reqs[i].next && got[i] == 0 {
					return true
				}
			}
			return false
		}
		for waiting() {
			readHostileReply(t, rc, reqs, got)
		}
	}
	// A last request: once it is answered, every earlier answer, and any
	// second answer, has arrived too.
	final := len(reqs)
	reqs = append(reqs, hostileRequest{subject: "$JS.API.INFO"})
	rc.send(fmt.Sprintf("PUB $JS.API.INFO _HOSTILE.%d 0\r\n\r\n", final))
	for got[final] == 0 {
		readHostileReply(t, rc, reqs, got)
	}
	t.Logf("%d requests, %d acks; %d answered with success", len(reqs), len(acks), got[-1])
	for i, q := range reqs {
		if !q.next && got[i] != 1 {
			t.Errorf("%s %q: %d replies; want 1", q.subject, trunc(q.body), got[i])
		}
	}
	h.halt()
	hostileAccountCheck(t, js)
	checkKept(t, js, "KEEP", kept, true)
	nc.Close()

	// What was acknowledged is still there after a restart.
	j.stop()
	j = startJS(t, dir)
	nc, js = jsConnect(t, j)
	checkKept(t, js, "KEEP", kept, true)

	// Stopping leaves nothing running: no consumer, stream or connection
	// goroutine the attack started.
	nc.Close()
	j.stop()
	waitGoroutines(t, base)
}

// readHostileReply reads one message from rc and checks it as the reply
// to the request its subject names.
func readHostileReply(t *testing.T, rc *rawConn, reqs []hostileRequest, got map[int]int) {
	t.Helper()
	line := rc.readLine()
	if strings.HasPrefix(line, "-ERR") {
		t.Fatalf("server: %s", line)
	}
	if line == "PONG" || line == "PING" || line == "+OK" {
		if line == "PING" {
			rc.send("PONG\r\n")
		}
		return
	}
	m := rc.readMsg(line)
	if m.subject == "_HOSTILE.ack" {
		return // sync ack confirmations
	}
	if !strings.HasPrefix(m.subject, "_HOSTILE.") {
		// A pull delivery shows the subject the message was stored
		// under; it carries its ack subject as reply.
		if !strings.HasPrefix(m.reply, "$JS.ACK.") {
			t.Fatalf("delivery of %s without an ack subject (reply %q)", m.subject, m.reply)
		}
		return
	}
	i, err := strconv.Atoi(strings.TrimPrefix(m.subject, "_HOSTILE."))
	if err != nil || i < 0 || i >= len(reqs) {
		t.Fatalf("reply on %s", m.subject)
	}
	got[i]++
	q := reqs[i]
	switch {
	case q.next || strings.HasPrefix(q.subject, "$JS.API.DIRECT.GET."):
		// Status messages and stored messages carry headers.
		if m.op != "HMSG" {
			if err := checkAPIJSON(m.data); err != nil || q.next {
				t.Errorf("%s %q: reply %q without headers", q.subject, trunc(q.body), trunc(m.data))
			}
		}
	default:
		if m.op != "MSG" {
			t.Errorf("%s %q: reply with headers %q", q.subject, trunc(q.body), m.header)
		}
		if err := checkAPIJSON(m.data); err != nil {
			t.Errorf("%s %q: reply %q: %v", q.subject, trunc(q.body), trunc(m.data), err)
		}
		if !strings.Contains(string(m.data), `"error"`) {
			got[-1]++ // successes, for the log
		}
	}
}

// TestHostileJSNames creates streams and durable consumers with odd names
// taken from the request subject. Each is refused with a complete error,
// or it works and is found under the same name after a restart, holding
// what it acknowledged.
func TestHostileJSNames(t *testing.T) {
	names := []string{"ok", "ünïcødé", "tag\U000e0001", "\xff", "a\xc3", "\xed\xa0\x80", "x\x01y", strings.Repeat("n", 255), strings.Repeat("n", 256), "a*b", "*", ">"}
	dir := t.TempDir()
	j := startJS(t, dir)
	nc, _ := jsConnect(t, j)
	type created struct {
		name string
		seq  uint64
	}
	var streams, consumers []created
	for i, name := range names {
		m, err := nc.Request("$JS.API.STREAM.CREATE."+name, nil, testTimeout)
		if err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		if err := checkAPIJSON(m.Data); err != nil {
			t.Fatalf("create %q: %q: %v", name, m.Data, err)
		}
		if strings.Contains(string(m.Data), `"error"`) {
			continue
		}
		// The stream captures its own name as a subject.
		nc.Opts.SkipSubjectValidation = true
		pa, err := nc.Request(name, []byte("data"), testTimeout)
		if err != nil {
			t.Fatalf("publish to %q: %v", name, err)
		}
		var ack struct {
			Seq uint64 `json:"seq"`
		}
		if err := json.Unmarshal(pa.Data, &ack); err != nil || ack.Seq != 1 {
			t.Fatalf("publish to %q: %q", name, pa.Data)
		}
		streams = append(streams, created{name, ack.Seq})
		cname := names[(i+2)%len(names)]
		quoted, _ := json.Marshal(cname)
		body := `{"config":{"durable_name":` + string(quoted) + `,"ack_policy":"explicit"}}`
		m, err = nc.Request("$JS.API.CONSUMER.CREATE."+name+"."+cname, []byte(body), testTimeout)
		if err != nil {
			t.Fatalf("create consumer %q: %v", cname, err)
		}
		if err := checkAPIJSON(m.Data); err != nil {
			t.Fatalf("create consumer %q: %q: %v", cname, m.Data, err)
		}
		if !strings.Contains(string(m.Data), `"error"`) {
			consumers = append(consumers, created{name, 0}, created{cname, 0})
		}
	}
	nc.Close()
	j.stop()
	j = startJS(t, dir)
	nc, _ = jsConnect(t, j)
	nc.Opts.SkipSubjectValidation = true
	for _, st := range streams {
		m, err := nc.Request("$JS.API.STREAM.INFO."+st.name, nil, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Config struct {
				Name string `json:"name"`
			} `json:"config"`
			State struct {
				Msgs uint64 `json:"messages"`
			} `json:"state"`
		}
		if err := json.Unmarshal(m.Data, &info); err != nil || info.Config.Name != st.name || info.State.Msgs != 1 {
			t.Errorf("after restart, stream %q: %q", st.name, trunc(m.Data))
		}
	}
	for i := 0; i < len(consumers); i += 2 {
		st, c := consumers[i].name, consumers[i+1].name
		m, err := nc.Request("$JS.API.CONSUMER.INFO."+st+"."+c, nil, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkAPIJSON(m.Data); err != nil || strings.Contains(string(m.Data), `"error"`) {
			t.Errorf("after restart, consumer %q on %q: %q", c, st, trunc(m.Data))
		}
	}
}
