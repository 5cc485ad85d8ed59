package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// cliRun runs the wren binary with args and wants exit code want; it
// returns stdout and stderr.
func cliRun(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := runWren(t, t.TempDir(), args...)
	if code != want {
		t.Fatalf("wren %q: exit %d; want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	return out, errOut
}

// cliStart starts a long-running wren command; wait returns its output
// once it exits.
func cliStart(t *testing.T, args ...string) (wait func() (string, string, int)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	cmd := exec.CommandContext(ctx, wrenPath(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return func() (string, string, int) {
		t.Helper()
		<-done
		if ctx.Err() != nil {
			t.Fatalf("wren %q did not finish:\n%s%s", args, out.String(), errb.String())
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
}

// waitSub waits until the daemon has a subscription on subject.
func waitSub(t *testing.T, d *opsDaemon, subject string) {
	t.Helper()
	waitUntil(t, func() error {
		_, body := d.get("/connz?subs=1")
		var cz struct {
			Connections []struct {
				Subs []string `json:"subscriptions_list"`
			} `json:"connections"`
		}
		json.Unmarshal([]byte(body), &cz)
		for _, c := range cz.Connections {
			if slices.Contains(c.Subs, subject) {
				return nil
			}
		}
		return fmt.Errorf("no subscription on %s yet: %s", subject, body)
	})
}

// wren pub, sub, req and reply against the daemon binary.
func TestCLIPubSubReqReply(t *testing.T) {
	d := startOps(t, t.TempDir(), "")
	s := "--server=" + d.url

	sub := cliStart(t, "sub", "greet.>", s, "--count", "3")
	waitSub(t, d, "greet.>")
	out, _ := cliRun(t, 0, "pub", "greet.x", "hello {{i}}", "--count", "2", s)
	if !strings.Contains(out, `Published 2 messages to "greet.x"`) {
		t.Errorf("pub said %q", out)
	}
	cliRun(t, 0, "pub", "greet.y", "with header", "-H", "Trace-Id: 42", s)
	got, errOut, code := sub()
	if code != 0 {
		t.Fatalf("sub exit %d: %s", code, errOut)
	}
	for _, want := range []string{`[#1] Received on "greet.x"`, "hello 1", "hello 2", `[#3] Received on "greet.y"`, "Trace-Id: 42", "with header"} {
		if !strings.Contains(got, want) {
			t.Errorf("sub output lacks %q:\n%s", want, got)
		}
	}

	reply := cliStart(t, "reply", "svc.greet", "hi {{request}}", "--count", "1", s)
	waitSub(t, d, "svc.greet")
	out, _ = cliRun(t, 0, "req", "svc.greet", "bob", "--raw", s)
	if out != "hi bob\n" {
		t.Errorf("req got %q; want %q", out, "hi bob\n")
	}
	if _, _, code := reply(); code != 0 {
		t.Errorf("reply exit %d", code)
	}
	// The reply answered a nats.go request too: the CLI is a real peer.
	echo := cliStart(t, "reply", "svc.echo", "--echo", "--count", "1", s)
	waitSub(t, d, "svc.echo")
	nc, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if m, err := nc.Request("svc.echo", []byte("ping"), testTimeout); err != nil || string(m.Data) != "ping" {
		t.Errorf("nats.go request to wren reply --echo: %v %v", m, err)
	}
	echo()

	_, errOut = cliRun(t, 1, "req", "svc.nobody", "x", s)
	if !strings.Contains(errOut, `no responders: nobody subscribes to "svc.nobody"`) {
		t.Errorf("req to nobody said %q", errOut)
	}
}

// The connection flags as the nats CLI names them: token, user and
// password, nkey seed file; wrong credentials fail with exit 1 and the
// server's words; no server, a clear error.
func TestCLICredentials(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	dir := t.TempDir()
	seedFile := writeFile(t, dir, "user.nk", string(seed)+"\n")
	d := startOps(t, dir, fmt.Sprintf(`
[authorization]
[[authorization.users]]
user = "alice"
password = "wonder"
[[authorization.users]]
nkey = %q
`, pub))
	s := "--server=" + d.url
	cliRun(t, 0, "pub", "x", "1", s, "--user", "alice", "--password", "wonder")
	cliRun(t, 0, "pub", "x", "1", s, "--nkey", seedFile)
	_, errOut := cliRun(t, 1, "pub", "x", "1", s, "--user", "alice", "--password", "nope")
	if !strings.Contains(errOut, "Authorization Violation") {
		t.Errorf("wrong password said %q", errOut)
	}
	_, errOut = cliRun(t, 1, "pub", "x", "1", s, "--nkey", filepath.Join(dir, "missing.nk"))
	if !strings.Contains(errOut, "missing.nk") {
		t.Errorf("missing seed file said %q", errOut)
	}

	tok := startOps(t, t.TempDir(), "[authorization]\ntoken = \"s3cret\"\n")
	cliRun(t, 0, "pub", "x", "1", "-s", tok.url, "--token", "s3cret")
	cliRun(t, 1, "pub", "x", "1", "-s", tok.url, "--token", "wrong")

	_, errOut = cliRun(t, 1, "pub", "x", "1", "-s", "nats://127.0.0.1:1")
	if !strings.Contains(errOut, "connecting to 127.0.0.1:1") {
		t.Errorf("no server said %q", errOut)
	}
}

// --help with examples (exit 0), usage mistakes (exit 2 and a pointer to
// the help), and the JetStream API's errors (exit 1 with the code).
func TestCLIHelpAndErrors(t *testing.T) {
	for _, args := range [][]string{
		{"pub", "--help"}, {"sub", "--help"}, {"req", "--help"}, {"reply", "--help"},
		{"stream", "--help"}, {"stream", "add", "--help"}, {"stream", "purge", "--help"},
		{"consumer", "--help"}, {"consumer", "next", "--help"}, {"dlq", "--help"}, {"dlq", "replay", "--help"},
		{"top", "--help"}, {"--help"},
	} {
		out, _ := cliRun(t, 0, args...)
		if !strings.Contains(out, "Usage: wren") {
			t.Errorf("wren %q printed no usage:\n%s", args, out)
		}
		if args[len(args)-1] == "--help" && len(args) > 1 && args[0] != "stream" && args[0] != "consumer" && args[0] != "dlq" && !strings.Contains(out, "Example") {
			t.Errorf("wren %q has no examples:\n%s", args, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pub"}, "missing argument"},
		{[]string{"stream", "bogus"}, `unknown command "bogus" for wren stream`},
		{[]string{"stream"}, "wren stream needs a command"},
		{[]string{"pub", "x", "--count", "zero"}, "invalid value"},
		{[]string{"stream", "rm", "X"}, "add --force"},
		{[]string{"dlq", "replay", "D"}, "give either --seq or --all"},
	} {
		_, errOut := cliRun(t, 2, tc.args...)
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "--help") {
			t.Errorf("wren %q said %q; want %q and a pointer to --help", tc.args, errOut, tc.want)
		}
	}
	d := startOps(t, t.TempDir(), "")
	_, errOut := cliRun(t, 1, "stream", "ls", "-s", d.url)
	if !strings.Contains(errOut, "has no stream layer") {
		t.Errorf("stream ls without streams said %q", errOut)
	}
	dir := t.TempDir()
	js := startOps(t, dir, opsJSConfig(dir))
	_, errOut = cliRun(t, 1, "stream", "info", "NOPE", "-s", js.url)
	if !strings.Contains(errOut, "stream not found (error 10059)") {
		t.Errorf("info of a missing stream said %q", errOut)
	}
}

// wren stream ls|info|add|rm|purge, checked through nats.go.
func TestCLIStream(t *testing.T) {
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir))
	s := "--server=" + d.url
	cliRun(t, 0, "stream", "add", "DLQ", "--subjects", "dlq", s)
	out, _ := cliRun(t, 0, "stream", "add", "ORDERS", "--subjects", "orders.>,refunds", "--max-age", "72h", "--dead-letter", "DLQ", "--max-msgs", "1000", s)
	if !strings.Contains(out, "Stream ORDERS created") || !strings.Contains(out, "Dead letters to:   DLQ") {
		t.Errorf("stream add said:\n%s", out)
	}
	nc, js := natsJS(t, d.url)
	defer nc.Close()
	st, err := js.Stream(jsCtx(t), "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if strings.Join(cfg.Subjects, ",") != "orders.>,refunds" || cfg.MaxAge != 72*time.Hour || cfg.MaxMsgs != 1000 {
		t.Errorf("created config %+v", cfg)
	}
	jsPublishN(t, js, "orders.new", "o", 10)

	out, _ = cliRun(t, 0, "stream", "ls", s)
	if !strings.Contains(out, "NAME") || !regexpFind(out, `(?m)^ORDERS\s+orders\.>,refunds\s+10\s`) || !regexpFind(out, `(?m)^DLQ\s+dlq\s+0\s`) {
		t.Errorf("stream ls:\n%s", out)
	}
	out, _ = cliRun(t, 0, "stream", "info", "ORDERS", s)
	for _, want := range []string{"Messages:          10", "Last sequence:     10", "Max age:           72h0m0s", "Max messages:      1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("stream info lacks %q:\n%s", want, out)
		}
	}
	out, _ = cliRun(t, 0, "stream", "info", "ORDERS", "--json", s)
	if !strings.Contains(out, `"messages": 10`) {
		t.Errorf("stream info --json:\n%s", out)
	}

	cliRun(t, 2, "stream", "purge", "ORDERS", s)
	out, _ = cliRun(t, 0, "stream", "purge", "ORDERS", "--keep", "3", "--force", s)
	if !strings.Contains(out, "Purged 7 messages from ORDERS") {
		t.Errorf("purge said %q", out)
	}
	info, _ := st.Info(jsCtx(t))
	if info.State.Msgs != 3 || info.State.FirstSeq != 8 {
		t.Errorf("after purge --keep 3: %+v", info.State)
	}
	out, _ = cliRun(t, 0, "stream", "rm", "ORDERS", "-f", s)
	if !strings.Contains(out, "Stream ORDERS deleted") {
		t.Errorf("rm said %q", out)
	}
	if _, err := js.Stream(jsCtx(t), "ORDERS"); err != jetstream.ErrStreamNotFound {
		t.Errorf("after rm: %v; want stream not found", err)
	}
}

// wren consumer ls|info|next and wren dlq ls|show|replay after known
// traffic, checked through nats.go.
func TestCLIConsumerAndDLQ(t *testing.T) {
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir))
	s := "--server=" + d.url
	nc := knownStreamTraffic(t, d.url)
	js, _ := jetstream.New(nc)

	out, _ := cliRun(t, 0, "consumer", "ls", "JOBS", s)
	if !regexpFind(out, `(?m)^idle\s+pull\s+10\s+0\s+0\s`) || !regexpFind(out, `(?m)^w\s+pull\s+6\s+1\s+0\s+4$`) {
		t.Errorf("consumer ls:\n%s", out)
	}
	out, _ = cliRun(t, 0, "consumer", "info", "JOBS", "w", s)
	for _, want := range []string{"Consumer w on stream JOBS", "Pending:           6", "Ack pending:       1", "Ack policy:        explicit"} {
		if !strings.Contains(out, want) {
			t.Errorf("consumer info lacks %q:\n%s", want, out)
		}
	}
	out, _ = cliRun(t, 0, "consumer", "next", "JOBS", "idle", "--count", "2", s)
	for _, want := range []string{"j-1", "j-2", "stream sequence 1", "stream sequence 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("consumer next lacks %q:\n%s", want, out)
		}
	}
	idle, _ := js.Consumer(jsCtx(t), "JOBS", "idle")
	ci, _ := idle.Info(jsCtx(t))
	if ci.NumPending != 8 || ci.NumAckPending != 0 || ci.AckFloor.Stream != 2 {
		t.Errorf("after consumer next (acked): pending %d ack pending %d ack floor %d", ci.NumPending, ci.NumAckPending, ci.AckFloor.Stream)
	}
	out, _ = cliRun(t, 0, "consumer", "next", "JOBS", "idle", "--no-ack", "--raw", s)
	if out != "j-3\n" {
		t.Errorf("consumer next --raw --no-ack = %q", out)
	}
	ci, _ = idle.Info(jsCtx(t))
	if ci.NumAckPending != 1 {
		t.Errorf("after --no-ack: ack pending %d; want 1", ci.NumAckPending)
	}
	cliRun(t, 0, "stream", "add", "EMPTY", s)
	cliRun(t, 0, "stream", "add", "E", "--subjects", "e", s)
	e, _ := js.Stream(jsCtx(t), "E")
	mustConsumer(t, e, jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy})
	_, errOut := cliRun(t, 1, "consumer", "next", "E", "c", "--wait", "300ms", s)
	if !strings.Contains(errOut, "no message within 300ms") {
		t.Errorf("next on an empty stream said %q", errOut)
	}

	out, _ = cliRun(t, 0, "dlq", "ls", s)
	if !regexpFind(out, `(?m)^DLQ\s+JOBS\s+1\s`) {
		t.Errorf("dlq ls:\n%s", out)
	}
	out, _ = cliRun(t, 0, "dlq", "show", "DLQ", s)
	for _, want := range []string{"[1] ", "subject jobs.a", "from stream JOBS sequence 3, consumer w, delivered 1 times", "reason: terminated: broken", "j-3"} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq show lacks %q:\n%s", want, out)
		}
	}
	out, _ = cliRun(t, 0, "dlq", "replay", "DLQ", "--all", s)
	if !strings.Contains(out, "Replayed 1 of 1 dead letters from DLQ") {
		t.Errorf("dlq replay said %q", out)
	}
	dlq, _ := js.Stream(jsCtx(t), "DLQ")
	jobs, _ := js.Stream(jsCtx(t), "JOBS")
	waitMsgs(t, dlq, 0, 2, 1)
	ji, _ := jobs.Info(jsCtx(t))
	if ji.State.Msgs != 11 {
		t.Errorf("JOBS holds %d messages after the replay; want 11", ji.State.Msgs)
	}
	out, _ = cliRun(t, 0, "dlq", "show", "DLQ", s)
	if !strings.Contains(out, "No dead letters in DLQ") {
		t.Errorf("dlq show of an empty DLQ:\n%s", out)
	}
}

// A replay of many dead letters shows its progress.
func TestCLIDLQReplayProgress(t *testing.T) {
	dir := t.TempDir()
	d := startOps(t, dir, opsJSConfig(dir))
	s := "--server=" + d.url
	nc, js := natsJS(t, d.url)
	defer nc.Close()
	dlq := mustCreate(t, js, jetstream.StreamConfig{Name: "DLQ", Subjects: []string{"dlq"}})
	mustCreateRaw(t, nc, `{"name":"BACK","subjects":["back"],"dead_letter_stream":"DLQ"}`)
	// 250 dead letters: a consumer terminates every message.
	back, _ := js.Stream(jsCtx(t), "BACK")
	jsPublishN(t, js, "back", "d", 250)
	c := mustConsumer(t, back, jetstream.ConsumerConfig{Durable: "bad", AckPolicy: jetstream.AckExplicitPolicy})
	for termed := 0; termed < 250; {
		b, err := c.Fetch(250-termed, jetstream.FetchMaxWait(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			if err := m.Term(); err != nil {
				t.Fatal(err)
			}
			termed++
		}
	}
	waitMsgs(t, dlq, 250, 1, 250)
	out, errOut := cliRun(t, 0, "dlq", "replay", "DLQ", "--all", s)
	if !strings.Contains(out, "Replayed 250 of 250") {
		t.Fatalf("replay said %q %q", out, errOut)
	}
	for _, want := range []string{"replayed 100/250", "replayed 200/250", "replayed 250/250"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}
	waitMsgs(t, dlq, 0, 251, 250)
}
