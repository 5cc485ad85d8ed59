package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	jsStream  = "BENCH"
	jsSubject = "bench.js.data"
)

// createBenchStream creates the benchmark's file-backed stream. A server
// without a stream layer (no responders, JetStream not enabled, timeout)
// yields errUnsupported.
func createBenchStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := js.CreateStream(cctx, jetstream.StreamConfig{
		Name:     jsStream,
		Subjects: []string{"bench.js.>"},
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: create stream: %v", errUnsupported, err)
	}
	return st, nil
}

// asyncPublish publishes n messages with PublishAsync, at most pending
// unacknowledged at a time, and waits for every ack. It returns the
// number of publishes the server rejected or that failed.
func asyncPublish(ctx context.Context, nc *nats.Conn, n, pending int, payload []byte) (int64, error) {
	var failed atomic.Int64
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(pending),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		return 0, err
	}
	// A full window blocks the publisher until acks free it; never give
	// up early on a server that pauses (the run's timeout still applies).
	stall := jetstream.WithStallWait(30 * time.Second)
	for i := 0; i < n; i++ {
		if _, err := js.PublishAsync(jsSubject, payload, stall); err != nil {
			return failed.Load(), fmt.Errorf("publish %d: %w", i, err)
		}
		if i&1023 == 0 && ctx.Err() != nil {
			return failed.Load(), ctx.Err()
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return failed.Load(), fmt.Errorf("waiting for acks: %w", ctx.Err())
	}
	return failed.Load(), nil
}

// jsPubScenario: one publisher sends messages to a file-backed stream with
// PublishAsync (a bounded window of unacknowledged publishes) and waits for
// every PubAck. Rate = acknowledged messages per second.
type jsPubScenario struct{}

func (jsPubScenario) name() string     { return "js-pub" }
func (jsPubScenario) unit() string     { return "msgs/s" }
func (jsPubScenario) needsStore() bool { return true }

func (jsPubScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	nc, err := connect(url, "loadgen-js-pub")
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return result{}, err
	}
	st, err := createBenchStream(ctx, js)
	if err != nil {
		return result{}, err
	}
	payload := cfg.payload()
	mark()
	start := time.Now()
	failed, err := asyncPublish(ctx, nc, cfg.jsMsgs, cfg.jsPending, payload)
	elapsed := time.Since(start)
	if err != nil {
		return result{}, err
	}
	res := result{count: int64(cfg.jsMsgs) - failed, expected: int64(cfg.jsMsgs), elapsed: elapsed}
	if failed > 0 {
		res.note = fmt.Sprintf("%d publishes failed", failed)
	}
	if stored, err := storedMsgs(ctx, st); err != nil {
		res.note = joinNote(res.note, "stream info: "+err.Error())
	} else if stored != uint64(res.count) {
		res.note = joinNote(res.note, fmt.Sprintf("stream holds %d, acked %d", stored, res.count))
	}
	return res, nil
}

func storedMsgs(ctx context.Context, st jetstream.Stream) (uint64, error) {
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := st.Info(ictx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// jsConsumeScenario: the stream is first filled (not timed), then a durable
// pull consumer with explicit acks reads it all, acking each message.
// Rate = messages received and acked per second, up to a round trip after
// the last ack.
type jsConsumeScenario struct{}

func (jsConsumeScenario) name() string     { return "js-consume" }
func (jsConsumeScenario) unit() string     { return "msgs/s" }
func (jsConsumeScenario) needsStore() bool { return true }

// filledConsumer fills the benchmark stream with --js-msgs messages (not
// timed) and creates a durable pull consumer with explicit acks on it.
func filledConsumer(ctx context.Context, url, name string, cfg *config) (*nats.Conn, jetstream.Consumer, error) {
	nc, err := connect(url, name)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*nats.Conn, jetstream.Consumer, error) {
		nc.Close()
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(err)
	}
	st, err := createBenchStream(ctx, js)
	if err != nil {
		return fail(err)
	}
	failed, err := asyncPublish(ctx, nc, cfg.jsMsgs, cfg.jsPending, cfg.payload())
	if err != nil {
		return fail(fmt.Errorf("filling the stream: %w", err))
	}
	if failed > 0 {
		return fail(fmt.Errorf("filling the stream: %d publishes failed", failed))
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	cons, err := st.CreateOrUpdateConsumer(cctx, jetstream.ConsumerConfig{
		Durable:       "bench",
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: 10000,
	})
	cancel()
	if err != nil {
		return fail(fmt.Errorf("%w: create consumer: %v", errUnsupported, err))
	}
	return nc, cons, nil
}

// jsFetchScenario: the stream is filled first (not timed); then a durable
// pull consumer reads it with Fetch(--js-batch), acking every message
// (explicit acks), one Fetch after the other. Rate = messages received
// and acked per second, ending with a round trip after the last ack;
// latency per Fetch.
type jsFetchScenario struct{}

func (jsFetchScenario) name() string     { return "js-fetch" }
func (jsFetchScenario) unit() string     { return "msgs/s" }
func (jsFetchScenario) needsStore() bool { return true }

func (jsFetchScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	nc, cons, err := filledConsumer(ctx, url, "loadgen-js-fetch", cfg)
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	expected := int64(cfg.jsMsgs)
	var got, ackErrs int64
	var lat []time.Duration
	mark()
	start := time.Now()
	for got < expected && ctx.Err() == nil {
		t := time.Now()
		batch, err := cons.Fetch(cfg.jsBatch, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return result{}, fmt.Errorf("fetch after %d: %w", got, err)
		}
		n := 0
		for m := range batch.Messages() {
			if err := m.Ack(); err != nil {
				ackErrs++
			}
			n++
		}
		if err := batch.Error(); err != nil && n == 0 {
			return result{}, fmt.Errorf("fetch after %d: %w", got, err)
		}
		lat = append(lat, time.Since(t))
		got += int64(n)
	}
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return result{}, err
	}
	elapsed := time.Since(start)
	res := result{count: min(got, expected), expected: expected, elapsed: elapsed, lat: lat}
	if got > expected {
		res.note = fmt.Sprintf("%d redeliveries", got-expected)
	}
	if ackErrs > 0 {
		res.note = joinNote(res.note, fmt.Sprintf("%d ack errors", ackErrs))
	}
	return res, nil
}

func (jsConsumeScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	nc, cons, err := filledConsumer(ctx, url, "loadgen-js-consume", cfg)
	if err != nil {
		return result{}, err
	}
	defer nc.Close()

	expected := int64(cfg.jsMsgs)
	var (
		got, ackErrs atomic.Int64
		done         = make(chan struct{})
	)
	mark()
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if err := m.Ack(); err != nil {
			ackErrs.Add(1)
		}
		if got.Add(1) == expected {
			close(done)
		}
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		return result{}, err
	}
	defer cc.Stop()
	n, _ := waitQuiet(ctx, done, &got, start, 5*time.Second)
	// Acks are sent asynchronously; a round trip makes sure the server has
	// read them all.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return result{}, err
	}
	elapsed := time.Since(start)
	res := result{count: min(n, expected), expected: expected, elapsed: elapsed}
	if n < expected {
		res.note = fmt.Sprintf("received %d of %d", n, expected)
	} else if n > expected {
		res.note = fmt.Sprintf("%d redeliveries", n-expected)
	}
	if e := ackErrs.Load(); e > 0 {
		res.note = joinNote(res.note, fmt.Sprintf("%d ack errors", e))
	}
	return res, nil
}
