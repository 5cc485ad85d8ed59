package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// onBehalfConf is a daemon with JetStream and two users: admin may do
// anything; mallory may use the JetStream API and the dead-letter replay,
// publish to mine.> and subscribe to mine.> and her inboxes, but may not
// publish to victim.> (another stream's subjects) or adm.>.
func onBehalfConf(dir string) string {
	return usersConf("[jetstream]\nenabled = true\nstore_dir = \""+dir+"/store\"\n",
		"user = \"admin\"\npassword = \"pw\"",
		"user = \"mallory\"\npassword = \"pw\"\n"+
			"permissions.publish = [\"$JS.API.>\", \"$JS.ACK.>\", \"$WREN.API.>\", \"mine.>\"]\n"+
			"permissions.subscribe = [\"_INBOX.>\", \"mine.>\"]")
}

// TestHostilePublishOnBehalf runs the daemon binary and has a restricted
// user try to make the server publish where she may not: pull requests,
// direct gets and push consumers aimed at another stream's subjects, forged
// dead-letter headers and a replay of dead letters she may not publish,
// and replays of streams that are not dead-letter streams or deny deletes.
// Each is refused; the victim stream stays empty; her own inbox-based
// JetStream use keeps working.
func TestHostilePublishOnBehalf(t *testing.T) {
	dir := t.TempDir()
	p := startWren(t, "-c", writeFile(t, dir, "wren.toml", onBehalfConf(dir)))
	admin, err := daemonConnect(t, p, nats.UserInfo("admin", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	ajs, err := jetstream.New(admin)
	if err != nil {
		t.Fatal(err)
	}
	victim := mustCreate(t, ajs, jetstream.StreamConfig{Name: "VICTIM", Subjects: []string{"victim.>"}, AllowRollup: true})
	mustCreateRaw(t, admin, `{"name":"SRC","subjects":["mine.src.>"],"allow_direct":true,"allow_rollup_hdrs":true,"dead_letter_stream":"DLQ"}`)
	mustCreateRaw(t, admin, `{"name":"ADM","subjects":["adm.>"],"dead_letter_stream":"DLQ"}`)
	dlq := mustCreate(t, ajs, jetstream.StreamConfig{Name: "DLQ", Subjects: []string{"mine.dlq.>"}})
	mustCreateRaw(t, admin, `{"name":"KEEP","subjects":["mine.keep.>"],"dead_letter_stream":"KEEPDLQ"}`)
	keepDLQ := mustCreate(t, ajs, jetstream.StreamConfig{Name: "KEEPDLQ", Subjects: []string{"keepdlq.>"}, DenyDelete: true})

	// A stored message whose headers would forge a publish into VICTIM.
	forged := nats.NewMsg("mine.src.a")
	forged.Header.Set("Nats-Msg-Id", "forged-1")
	forged.Header.Set("Nats-Rollup", "all")
	forged.Data = []byte("forged")
	if _, err := ajs.PublishMsg(jsCtx(t), forged); err != nil {
		t.Fatal(err)
	}
	src, err := ajs.Stream(jsCtx(t), "SRC")
	if err != nil {
		t.Fatal(err)
	}
	mustConsumer(t, src, jetstream.ConsumerConfig{Durable: "pull", AckPolicy: jetstream.AckExplicitPolicy})

	mal, err := daemonConnect(t, p, nats.UserInfo("mallory", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	violation := func(reply string) string {
		return fmt.Sprintf(`Permissions Violation for Publish with Reply of "%s"`, reply)
	}

	// A pull request and a direct get whose reply is VICTIM's subject.
	mal.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.SRC.pull", "victim.pull", []byte(`{"batch":1,"no_wait":true}`))
	wantViolation(t, mal, violation("victim.pull"))
	mal.PublishRequest("$JS.API.DIRECT.GET.SRC", "victim.direct", []byte(`{"seq":1}`))
	wantViolation(t, mal, violation("victim.direct"))
	// Any API request, and a publish into a stream (its PubAck), likewise.
	mal.PublishRequest("$JS.API.STREAM.INFO.SRC", "victim.info", nil)
	wantViolation(t, mal, violation("victim.info"))
	mal.PublishRequest("mine.src.b", "victim.puback", []byte("x"))
	wantViolation(t, mal, violation("victim.puback"))

	// A pull request whose reply nobody listens on is taken, but once
	// someone else subscribes there it is dropped instead of served.
	mustConsumer(t, src, jetstream.ConsumerConfig{Durable: "late", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy})
	mal.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.SRC.late", "victim2.late", []byte(`{"batch":1,"expires":30000000000}`))
	if err := mal.Flush(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() error {
		ci, err := src.Consumer(jsCtx(t), "late")
		if err != nil {
			return err
		}
		if n := ci.CachedInfo().NumWaiting; n != 1 {
			return fmt.Errorf("consumer late has %d waiting requests; want mallory's", n)
		}
		return nil
	})
	lateSub, err := admin.SubscribeSync("victim2.late")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := ajs.Publish(jsCtx(t), "mine.src.late", []byte("late")); err != nil {
		t.Fatal(err)
	}
	if m, err := lateSub.NextMsg(500 * time.Millisecond); err == nil {
		t.Errorf("admin's subscription on the pull request's reply got %q; want nothing once another client listens there", m.Data)
	}

	// A push consumer delivering into VICTIM.
	r := rawAPI(t, mal, "CONSUMER.CREATE.SRC.push", `{"stream_name":"SRC","config":{"durable_name":"push","deliver_subject":"victim.push","ack_policy":"none"}}`)
	if r.Error == nil || !strings.Contains(r.Error.Description, `permissions violation for publish to deliver subject "victim.push"`) {
		t.Errorf("push consumer delivering to victim.push: %s; want a permissions violation", r.raw)
	}

	// Forged dead-letter headers are dropped when the message is stored,
	// so the replay finds no dead letter to send to victim.dlq.
	fake := nats.NewMsg("mine.dlq.x")
	fake.Header.Set("Wren-DLQ-Stream", "SRC")
	fake.Header.Set("Wren-DLQ-Subject", "victim.dlq")
	fake.Header.Set("Keep-Me", "yes")
	fake.Data = []byte("fake dead letter")
	if _, err := admin.RequestMsg(fake, testTimeout); err != nil {
		t.Fatal(err)
	}
	mjs, err := jetstream.New(mal)
	if err != nil {
		t.Fatal(err)
	}
	malDLQ, err := mjs.Stream(jsCtx(t), "DLQ")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := malDLQ.GetMsg(jsCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Header.Get("Wren-DLQ-Subject") != "" || stored.Header.Get("Wren-DLQ-Stream") != "" || stored.Header.Get("Keep-Me") != "yes" {
		t.Errorf("stored headers %v; want the Wren-DLQ-* fields dropped and Keep-Me kept", stored.Header)
	}
	if rr := replayDLQ(t, mal, "DLQ", `{"seq":1}`); rr["replayed"] != 0.0 || !strings.Contains(fmt.Sprint(rr["failed"]), "not a dead letter the server stored") {
		t.Errorf("replay of a forged dead letter: %v; want it refused", rr)
	}

	// A real dead letter from adm.x, which mallory may not publish to.
	adm, err := ajs.Stream(jsCtx(t), "ADM")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ajs.Publish(jsCtx(t), "adm.x", []byte("admin only")); err != nil {
		t.Fatal(err)
	}
	ac := mustConsumer(t, adm, jetstream.ConsumerConfig{Durable: "proc", AckPolicy: jetstream.AckExplicitPolicy})
	if err := fetchOne(t, ac, testTimeout).Term(); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, dlq, 2, 1, 2)
	if rr := replayDLQ(t, mal, "DLQ", `{"seq":2}`); rr["replayed"] != 0.0 || !strings.Contains(fmt.Sprint(rr["failed"]), `permissions violation for publish to "adm.x"`) {
		t.Errorf("mallory's replay to adm.x: %v; want a permissions violation", rr)
	}
	if rr := replayDLQ(t, admin, "DLQ", `{"seq":2}`); rr["replayed"] != 1.0 {
		t.Errorf("admin's replay to adm.x: %v; want it replayed", rr)
	}

	// Only dead-letter streams replay; deny_delete needs keep.
	if rr := replayDLQ(t, mal, "SRC", `{"all":true}`); !strings.Contains(fmt.Sprint(rr["error"]), "not a dead-letter stream") {
		t.Errorf("replay of SRC: %v; want it refused as not a dead-letter stream", rr)
	}
	kc := mustConsumer(t, mustStream(t, ajs, "KEEP"), jetstream.ConsumerConfig{Durable: "proc", AckPolicy: jetstream.AckExplicitPolicy})
	if _, err := ajs.Publish(jsCtx(t), "mine.keep.x", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := fetchOne(t, kc, testTimeout).Term(); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, keepDLQ, 1, 1, 1)
	if rr := replayDLQ(t, mal, "KEEPDLQ", `{"seq":1}`); !strings.Contains(fmt.Sprint(rr["error"]), "message delete not permitted") {
		t.Errorf("replay from a deny_delete stream without keep: %v; want it refused", rr)
	}
	if rr := replayDLQ(t, mal, "KEEPDLQ", `{"seq":1,"keep":true}`); rr["replayed"] != 1.0 {
		t.Errorf("replay from a deny_delete stream with keep: %v; want it replayed", rr)
	}
	waitMsgs(t, keepDLQ, 1, 1, 1)

	// Mallory's own inbox-based use works: pull, direct get, PubAck, also
	// while an operator watches everything.
	if _, err := admin.SubscribeSync(">"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Flush(); err != nil {
		t.Fatal(err)
	}
	mc, err := mjs.Consumer(jsCtx(t), "SRC", "pull")
	if err != nil {
		t.Fatal(err)
	}
	if m := fetchOne(t, mc, testTimeout); string(m.Data()) != "forged" {
		t.Errorf("mallory's fetch: %q", m.Data())
	}
	msrc, err := mjs.Stream(jsCtx(t), "SRC")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := msrc.GetMsg(jsCtx(t), 1); err != nil || string(m.Data) != "forged" {
		t.Errorf("mallory's get: %v, %v", m, err)
	}
	if dm, err := mal.Request("$JS.API.DIRECT.GET.SRC", []byte(`{"seq":1}`), testTimeout); err != nil || string(dm.Data) != "forged" {
		t.Errorf("mallory's direct get: %v, %v", dm, err)
	}
	if _, err := mjs.Publish(jsCtx(t), "mine.src.c", []byte("mine")); err != nil {
		t.Errorf("mallory's publish: %v", err)
	}

	// Nothing ever reached VICTIM.
	time.Sleep(100 * time.Millisecond)
	if si, err := victim.Info(jsCtx(t)); err != nil || si.State.Msgs != 0 {
		t.Fatalf("VICTIM: %+v, %v; want it empty", si.State, err)
	}
}
