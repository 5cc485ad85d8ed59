package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestJSConsumerCreateActions(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "CA", Subjects: []string{"ca.>"}})
	ctx := jsCtx(t)
	cfg := jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy}
	if _, err := s.CreateConsumer(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateConsumer(ctx, cfg); err != nil {
		t.Fatalf("create with the same config: %v", err)
	}
	other := cfg
	other.Description = "changed"
	_, err := s.CreateConsumer(ctx, other)
	wantAPIErr(t, "create with another config", err, jetstream.JSErrCodeConsumerExists)
	_, err = s.UpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "nope", AckPolicy: jetstream.AckExplicitPolicy})
	wantAPIErr(t, "update of a missing consumer", err, jetstream.JSErrCodeConsumerDoesNotExist)
	c, err := s.UpdateConsumer(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if c.CachedInfo().Config.Description != "changed" {
		t.Fatalf("update did not apply: %+v", c.CachedInfo().Config)
	}
	bad := other
	bad.AckPolicy = jetstream.AckNonePolicy
	_, err = s.UpdateConsumer(ctx, bad)
	wantAPIErr(t, "update of the ack policy", err, jetstream.JSErrCodeConsumerCreate)

	ci := c.CachedInfo()
	if ci.Config.AckWait != 30*time.Second || ci.Config.MaxDeliver != -1 || ci.Config.MaxWaiting != 512 ||
		ci.Config.MaxAckPending != 1000 || ci.Config.DeliverPolicy != jetstream.DeliverAllPolicy {
		t.Fatalf("defaults %+v", ci.Config)
	}
}

func TestJSConsumerCreateRejected(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "CR", Subjects: []string{"cr.>"}})
	tests := []struct {
		name string
		cfg  jetstream.ConsumerConfig
		want jetstream.ErrorCode
	}{
		{"backoff longer than max deliver", jetstream.ConsumerConfig{Durable: "a", MaxDeliver: 2, BackOff: []time.Duration{time.Second, time.Second}}, 10116},
		{"start sequence without policy", jetstream.ConsumerConfig{Durable: "b", OptStartSeq: 5}, 10094},
		{"filter outside the stream", jetstream.ConsumerConfig{Durable: "c", FilterSubject: "other"}, 10093},
		{"overlapping filters", jetstream.ConsumerConfig{Durable: "d", FilterSubjects: []string{"cr.>", "cr.a"}}, 10138},
		{"deliver subject in the stream", jetstream.ConsumerConfig{Durable: "e", DeliverSubject: "cr.loop"}, 10081},
		{"flow control without heartbeats", jetstream.ConsumerConfig{Durable: "f", DeliverSubject: "x.y", FlowControl: true}, 10108},
		{"max ack pending with ack none", jetstream.ConsumerConfig{Durable: "g", AckPolicy: jetstream.AckNonePolicy, MaxAckPending: 5}, 10082},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateOrUpdateConsumer(jsCtx(t), tt.cfg)
			wantAPIErr(t, tt.name, err, tt.want)
		})
	}
}

func TestJSConsumerInfoDeleteList(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "L", Subjects: []string{"l.>"}, MaxConsumers: 3})
	ctx := jsCtx(t)
	for _, n := range []string{"c", "a", "b"} {
		mustConsumer(t, s, jetstream.ConsumerConfig{Durable: n, AckPolicy: jetstream.AckExplicitPolicy})
	}
	_, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d"})
	if !errors.Is(err, jetstream.ErrMaximumConsumersLimit) {
		t.Fatalf("fourth consumer: %v; want ErrMaximumConsumersLimit", err)
	}
	var names []string
	nl := s.ConsumerNames(ctx)
	for n := range nl.Name() {
		names = append(names, n)
	}
	if nl.Err() != nil || fmt.Sprint(names) != "[a b c]" {
		t.Fatalf("names = %v, %v", names, nl.Err())
	}
	var infos []string
	il := s.ListConsumers(ctx)
	for ci := range il.Info() {
		infos = append(infos, ci.Name)
	}
	if il.Err() != nil || fmt.Sprint(infos) != "[a b c]" {
		t.Fatalf("list = %v, %v", infos, il.Err())
	}
	si, err := s.Info(ctx)
	if err != nil || si.State.Consumers != 3 {
		t.Fatalf("stream consumer count %v, %v", si.State.Consumers, err)
	}
	if err := s.DeleteConsumer(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consumer(ctx, "b"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("info after delete: %v", err)
	}
	if err := s.DeleteConsumer(ctx, "b"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// A pull waiting on a consumer that is deleted ends with 409 Consumer
// Deleted.
func TestJSConsumerDeletedWhileWaiting(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "DW", Subjects: []string{"dw"}})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})
	b, err := c.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumWaiting != 1 {
			return fmt.Errorf("waiting %d", ci.NumWaiting)
		}
		return nil
	})
	if err := s.DeleteConsumer(jsCtx(t), "d"); err != nil {
		t.Fatal(err)
	}
	for range b.Messages() {
	}
	if !errors.Is(b.Error(), jetstream.ErrConsumerDeleted) {
		t.Fatalf("fetch ended with %v; want ErrConsumerDeleted", b.Error())
	}
}

func TestJSConsumerEphemeralInactive(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "E", Subjects: []string{"e"}})
	c, err := s.CreateOrUpdateConsumer(jsCtx(t), jetstream.ConsumerConfig{
		AckPolicy: jetstream.AckExplicitPolicy, InactiveThreshold: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	name := c.CachedInfo().Name
	if name == "" || c.CachedInfo().Config.Durable != "" {
		t.Fatalf("ephemeral info %+v", c.CachedInfo())
	}
	waitUntil(t, func() error {
		_, err := s.Consumer(jsCtx(t), name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil
		}
		return fmt.Errorf("consumer still there (%v)", err)
	})
}

func TestJSConsumerDeliverPolicies(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "DP", Subjects: []string{"dp.>"}})
	for i, subj := range []string{"dp.a", "dp.b", "dp.a", "dp.c", "dp.b"} {
		if _, err := js.Publish(jsCtx(t), subj, fmt.Appendf(nil, "%d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	si, err := s.Info(jsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	midTime := si.State.LastTime.Add(time.Nanosecond)
	time.Sleep(2 * time.Millisecond)
	if _, err := js.Publish(jsCtx(t), "dp.c", []byte("6")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  jetstream.ConsumerConfig
		want []string
	}{
		{"all", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}, []string{"1", "2", "3", "4", "5", "6"}},
		{"all filtered", jetstream.ConsumerConfig{FilterSubject: "dp.a"}, []string{"1", "3"}},
		{"filters", jetstream.ConsumerConfig{FilterSubjects: []string{"dp.a", "dp.c"}}, []string{"1", "3", "4", "6"}},
		{"last", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverLastPolicy}, []string{"6"}},
		{"last filtered", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverLastPolicy, FilterSubject: "dp.b"}, []string{"5"}},
		{"new", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}, nil},
		{"by start sequence", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 4}, []string{"4", "5", "6"}},
		{"by start time", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &midTime}, []string{"6"}},
		{"last per subject", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy}, []string{"3", "5", "6"}},
		{"last per subject filtered", jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy, FilterSubjects: []string{"dp.a", "dp.b"}}, []string{"3", "5"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Durable = fmt.Sprintf("c%d", i)
			tt.cfg.AckPolicy = jetstream.AckExplicitPolicy
			c := mustConsumer(t, s, tt.cfg)
			if got := c.CachedInfo().NumPending; got != uint64(len(tt.want)) {
				t.Errorf("num_pending = %d; want %d", got, len(tt.want))
			}
			if got := fetchData(t, c, 10, 200*time.Millisecond, true); !equalList(got, tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
	// A new message reaches the "new" consumer.
	c := consumerOfStream(t, js, "DP", "c5")
	jsPublishN(t, js, "dp.z", "z", 1)
	if got := fetchData(t, c, 10, 200*time.Millisecond, true); !equalList(got, []string{"z-1"}) {
		t.Errorf("new consumer got %v", got)
	}
}

func TestJSConsumerWorkQueue(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "WQ", Subjects: []string{"wq.>"}, Retention: jetstream.WorkQueuePolicy})
	ctx := jsCtx(t)
	_, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "x", AckPolicy: jetstream.AckNonePolicy})
	wantAPIErr(t, "ack none on a work queue", err, 10098)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "all", AckPolicy: jetstream.AckExplicitPolicy})
	_, err = s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "all2", AckPolicy: jetstream.AckExplicitPolicy})
	wantAPIErr(t, "second unfiltered consumer", err, 10099)
	_, err = s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "f", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "wq.a"})
	wantAPIErr(t, "filtered consumer overlapping an unfiltered one", err, 10100)
	if err := s.DeleteConsumer(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "a", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "wq.a"})
	_, err = s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "a2", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "wq.*"})
	wantAPIErr(t, "overlapping filtered consumers", err, 10100)
	c = mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "b", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "wq.b"})

	jsPublishN(t, js, "wq.b", "b", 5)
	jsPublishN(t, js, "wq.a", "a", 2)
	got := fetchData(t, c, 3, time.Second, true)
	if !equalList(got, seqs("b", 1, 3)) {
		t.Fatalf("got %v", got)
	}
	// Acked messages leave the stream; the rest stay.
	waitMsgs(t, s, 4, 4, 7)
}

// A purge drops what the consumer had pending and moves it past the
// purged messages.
func TestJSConsumerAfterPurge(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	s := mustCreate(t, js, jetstream.StreamConfig{Name: "PG2", Subjects: []string{"pg2"}})
	jsPublishN(t, js, "pg2", "m", 10)
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	fetchData(t, c, 3, time.Second, false)
	if err := s.Purge(jsCtx(t)); err != nil {
		t.Fatal(err)
	}
	jsPublishN(t, js, "pg2", "n", 2)
	if got := fetchData(t, c, 10, 300*time.Millisecond, true); !equalList(got, seqs("n", 1, 2)) {
		t.Fatalf("after purge: %v; want n-1, n-2", got)
	}
	wantInfo(t, c, func(ci *jetstream.ConsumerInfo) error {
		if ci.NumAckPending != 0 || ci.NumPending != 0 || ci.AckFloor.Stream != 12 {
			return fmt.Errorf("ack pending %d, pending %d, floor %d", ci.NumAckPending, ci.NumPending, ci.AckFloor.Stream)
		}
		return nil
	})
}
