package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// jsPublishN publishes n messages "<prefix>-<i>" (i from 1) to subject.
func jsPublishN(t testing.TB, js jetstream.JetStream, subject, prefix string, n int) {
	t.Helper()
	ctx := jsCtx(t)
	for i := 1; i <= n; i++ {
		if _, err := js.Publish(ctx, subject, fmt.Appendf(nil, "%s-%d", prefix, i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

// mustConsumer creates (or updates) a pull consumer.
func mustConsumer(t testing.TB, s jetstream.Stream, cfg jetstream.ConsumerConfig) jetstream.Consumer {
	t.Helper()
	c, err := s.CreateOrUpdateConsumer(jsCtx(t), cfg)
	if err != nil {
		t.Fatalf("create consumer %+v: %v", cfg, err)
	}
	return c
}

// fetchData fetches up to n messages within wait, acks them when ack is
// set, and returns their payloads.
func fetchData(t testing.TB, c jetstream.Consumer, n int, wait time.Duration, ack bool) []string {
	t.Helper()
	b, err := c.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	var got []string
	for m := range b.Messages() {
		got = append(got, string(m.Data()))
		if ack {
			if err := m.Ack(); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
	}
	if err := b.Error(); err != nil {
		t.Fatalf("fetch error: %v", err)
	}
	return got
}

// infoer is a pull or push consumer.
type infoer interface {
	Info(context.Context) (*jetstream.ConsumerInfo, error)
}

// wantInfo polls the consumer's info until check passes.
func wantInfo(t testing.TB, c infoer, check func(*jetstream.ConsumerInfo) error) *jetstream.ConsumerInfo {
	t.Helper()
	var last *jetstream.ConsumerInfo
	waitUntil(t, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ci, err := c.Info(ctx)
		if err != nil {
			return err
		}
		last = ci
		return check(ci)
	})
	return last
}

// seqs builds "<prefix>-<i>" for i in [from, to].
func seqs(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

func equalList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
