package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// scenario is one workload. Each run gets a freshly started server.
type scenario interface {
	// name is what --scenarios selects and the report shows.
	name() string
	// unit is what the rate counts: "msgs/s", "req/s".
	unit() string
	// needsStore asks for a server started with a stream store.
	needsStore() bool
	// run performs the workload against the server at url, calling mark
	// just before the timed part starts (the server's CPU time is counted
	// from there). It returns errUnsupported (wrapped) when the server
	// lacks a feature the scenario needs; the report then shows n/a.
	run(ctx context.Context, url string, cfg *config, mark func()) (result, error)
}

// errUnsupported marks a server that cannot run a scenario.
var errUnsupported = errors.New("not supported by this server")

// result is one scenario run against one server.
type result struct {
	count    int64         // units completed: messages received, requests answered
	expected int64         // units the workload should have completed
	elapsed  time.Duration // measured time
	lat      []time.Duration
	p50, p99 time.Duration // as a client reports them, without lat
	note     string        // something went wrong: drops, failures, errors
	info     string        // detail worth a look, but no anomaly
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.count) / r.elapsed.Seconds()
}

// config is the workload sizes, shared by every scenario.
type config struct {
	msgs       int           // messages per core scenario
	size       int           // payload bytes
	subs       int           // fanout subscribers
	queue      int           // queue group members
	requesters int           // concurrent requesters
	reqs       int           // total requests
	jsMsgs     int           // messages per stream scenario
	jsPending  int           // async publishes in flight
	jsSyncMsgs int           // messages of the synchronous publish scenario
	jsBatch    int           // messages per atomic batch, per Fetch
	natsCLI    string        // the nats CLI, for the nb-* scenarios
	timeout    time.Duration // per scenario run
}

func (cfg *config) payload() []byte {
	p := make([]byte, cfg.size)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return p
}

// scenarios lists every workload, in report order.
var scenarios = []scenario{
	pubScenario{},
	variant{pubScenario{}, "pub-16", 16, 0},
	deliveryScenario{id: "pubsub", subs: func(*config) (int, int) { return 1, 0 }},
	variant{deliveryScenario{id: "pubsub", subs: func(*config) (int, int) { return 1, 0 }}, "pubsub-16", 16, 0},
	variant{deliveryScenario{id: "pubsub", subs: func(*config) (int, int) { return 1, 0 }}, "pubsub-1k", 1024, 0},
	deliveryScenario{id: "fanout", subs: func(c *config) (int, int) { return c.subs, 0 }},
	variant{deliveryScenario{id: "fanout", subs: func(c *config) (int, int) { return c.subs, 0 }}, "fanout4-16", 16, 4},
	variant{deliveryScenario{id: "fanout", subs: func(c *config) (int, int) { return c.subs, 0 }}, "fanout4-1k", 1024, 4},
	deliveryScenario{id: "queue", subs: func(c *config) (int, int) { return 0, c.queue }},
	reqrepScenario{id: "reqrep"},
	reqrepScenario{id: "reqrep-seq", requesters: 1},
	jsPubScenario{},
	jsSyncScenario{},
	jsSyncRawScenario{},
	jsBatchScenario{},
	jsFetchScenario{},
	jsConsumeScenario{},
	jsAPIScenario{},
	natsBenchPub{id: "nb-pub-16", size: 16},
	natsBenchPubSub{id: "nb-pubsub-16", size: 16},
	natsBenchPubSub{id: "nb-pubsub-1k", size: 1024},
	natsBenchBatch{},
}

// presets name sets of scenarios for --scenarios.
var presets = map[string]string{
	// The rows of the performance table in the README (issue 20).
	"table": "pub-16,pubsub-16,fanout4-16,pubsub-1k,fanout4-1k,reqrep-seq,js-pub,js-sync,js-batch,js-fetch,js-consume," +
		"nb-pub-16,nb-pubsub-16,nb-pubsub-1k,nb-js-batch",
}

// variant is a scenario run with a fixed payload size and, for fan-out, a
// fixed number of subscribers, under its own name.
type variant struct {
	scenario
	id   string
	size int // payload bytes
	subs int // fan-out subscribers; 0 keeps --subs
}

func (v variant) name() string { return v.id }

func (v variant) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	c := *cfg
	c.size = v.size
	if v.subs > 0 {
		c.subs = v.subs
	}
	return v.scenario.run(ctx, url, &c, mark)
}

// connect opens a client connection that never reconnects: a benchmark
// connection that drops is a failure to report, not to hide.
func connect(url, name string, extra ...nats.Option) (*nats.Conn, error) {
	opts := append([]nats.Option{
		nats.Name(name),
		nats.NoReconnect(),
		nats.Timeout(5 * time.Second),
	}, extra...)
	return nats.Connect(url, opts...)
}

// publishN publishes n copies of payload to subject and waits for a final
// round trip, so that the server has read every message.
func publishN(ctx context.Context, nc *nats.Conn, subject string, payload []byte, n int, deadline time.Time) error {
	for i := 0; i < n; i++ {
		if err := nc.Publish(subject, payload); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
		if i&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nc.FlushTimeout(time.Until(deadline))
}

// pubScenario: one publisher, no subscribers. Measures how fast the server
// takes messages in, until a final PING/PONG round trip completes.
type pubScenario struct{}

func (pubScenario) name() string     { return "pub" }
func (pubScenario) unit() string     { return "msgs/s" }
func (pubScenario) needsStore() bool { return false }

func (pubScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	deadline, _ := ctx.Deadline()
	nc, err := connect(url, "loadgen-pub")
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	payload := cfg.payload()
	mark()
	start := time.Now()
	if err := publishN(ctx, nc, "bench.pub", payload, cfg.msgs, deadline); err != nil {
		return result{}, err
	}
	return result{count: int64(cfg.msgs), expected: int64(cfg.msgs), elapsed: time.Since(start)}, nil
}

// deliveryScenario: one publisher and a set of subscribers, each on its own
// connection: plain subscribers (each gets every message) and members of
// one queue group (each message goes to one of them). The rate is messages
// received, summed over subscribers, per second from the first publish to
// the last receive.
type deliveryScenario struct {
	id   string
	subs func(*config) (plain, queue int)
}

func (d deliveryScenario) name() string   { return d.id }
func (deliveryScenario) unit() string     { return "msgs/s" }
func (deliveryScenario) needsStore() bool { return false }

func (d deliveryScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	deadline, _ := ctx.Deadline()
	plain, queue := d.subs(cfg)
	expected := int64(cfg.msgs) * int64(plain)
	if queue > 0 {
		expected += int64(cfg.msgs)
	}
	subject := "bench." + d.id

	var (
		got       atomic.Int64
		endAt     atomic.Int64 // UnixNano of the last expected receive
		done      = make(chan struct{})
		lost      atomic.Int64 // disconnects and client-side drops
		perMember = make([]atomic.Int64, plain+queue)
	)
	onMsg := func(i int) nats.MsgHandler {
		return func(*nats.Msg) {
			perMember[i].Add(1)
			if got.Add(1) == expected {
				endAt.Store(time.Now().UnixNano())
				close(done)
			}
		}
	}
	var conns []*nats.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < plain+queue; i++ {
		nc, err := connect(url, fmt.Sprintf("loadgen-sub-%d", i),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					lost.Add(1)
				}
			}),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) { lost.Add(1) }))
		if err != nil {
			return result{}, err
		}
		conns = append(conns, nc)
		var sub *nats.Subscription
		if i < plain {
			sub, err = nc.Subscribe(subject, onMsg(i))
		} else {
			sub, err = nc.QueueSubscribe(subject, "workers", onMsg(i))
		}
		if err != nil {
			return result{}, err
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			return result{}, err
		}
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			return result{}, err
		}
	}

	pc, err := connect(url, "loadgen-pub")
	if err != nil {
		return result{}, err
	}
	defer pc.Close()
	payload := cfg.payload()
	mark()
	start := time.Now()
	if err := publishN(ctx, pc, subject, payload, cfg.msgs, deadline); err != nil {
		return result{}, err
	}

	// Wait until everything arrives, or until nothing has arrived for a
	// second (messages were dropped), or the run times out.
	res := result{expected: expected}
	res.count, res.elapsed = waitQuiet(ctx, done, &got, start, time.Second)
	if res.count == expected {
		res.elapsed = time.Duration(endAt.Load() - start.UnixNano())
	} else {
		res.note = fmt.Sprintf("DROPPED %d of %d", expected-res.count, expected)
	}
	if n := lost.Load(); n > 0 {
		res.note = joinNote(res.note, fmt.Sprintf("%d subscriber errors/disconnects", n))
	}
	if queue > 0 {
		counts := make([]int64, 0, queue)
		for i := plain; i < plain+queue; i++ {
			counts = append(counts, perMember[i].Load())
		}
		res.info = fmt.Sprintf("per member %d..%d", slices.Min(counts), slices.Max(counts))
	}
	return res, nil
}

// waitQuiet waits for done, or until got has not moved for quiet. It
// returns the count and the time of the last change since start.
func waitQuiet(ctx context.Context, done <-chan struct{}, got *atomic.Int64, start time.Time, quiet time.Duration) (int64, time.Duration) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	last, lastAt := got.Load(), time.Now()
	for {
		select {
		case <-done:
			return got.Load(), time.Since(start)
		case <-ctx.Done():
			return last, lastAt.Sub(start)
		case now := <-tick.C:
			if n := got.Load(); n != last {
				last, lastAt = n, now
			} else if now.Sub(lastAt) > quiet {
				return last, lastAt.Sub(start)
			}
		}
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// reqrepScenario: concurrent requesters, each on its own connection, send
// requests to one responder that echoes the payload back. Measures
// completed requests per second and each request's round-trip latency.
// With requesters set, that many (1: strictly sequential requests)
// instead of --requesters.
type reqrepScenario struct {
	id         string
	requesters int
}

func (r reqrepScenario) name() string   { return r.id }
func (reqrepScenario) unit() string     { return "req/s" }
func (reqrepScenario) needsStore() bool { return false }

func (r reqrepScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	if r.requesters > 0 {
		c := *cfg
		c.requesters = r.requesters
		cfg = &c
	}
	const subject = "bench.rr"
	rc, err := connect(url, "loadgen-responder")
	if err != nil {
		return result{}, err
	}
	defer rc.Close()
	if _, err := rc.Subscribe(subject, func(m *nats.Msg) { m.Respond(m.Data) }); err != nil {
		return result{}, err
	}
	if err := rc.FlushTimeout(5 * time.Second); err != nil {
		return result{}, err
	}

	conns := make([]*nats.Conn, cfg.requesters)
	for i := range conns {
		nc, err := connect(url, fmt.Sprintf("loadgen-req-%d", i))
		if err != nil {
			return result{}, err
		}
		defer nc.Close()
		conns[i] = nc
	}
	payload := cfg.payload()
	var (
		left     atomic.Int64
		failures atomic.Int64
		wg       sync.WaitGroup
		lats     = make([][]time.Duration, len(conns))
	)
	left.Store(int64(cfg.reqs))
	mark()
	start := time.Now()
	for i, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, cfg.reqs/len(conns)+1)
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				t := time.Now()
				if _, err := nc.Request(subject, payload, 5*time.Second); err != nil {
					failures.Add(1)
					continue
				}
				own = append(own, time.Since(t))
			}
			lats[i] = own
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	res := result{expected: int64(cfg.reqs), elapsed: elapsed}
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	res.count = int64(len(res.lat))
	if n := failures.Load(); n > 0 {
		res.note = fmt.Sprintf("%d requests failed", n)
	}
	return res, nil
}
