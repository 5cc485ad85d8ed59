package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsAPIScenario is the probe of one client monopolising the JetStream
// API: the stream is filled with --js-msgs messages on 100 subjects and a
// key-value bucket with as many keys (not timed); then four clients loop
// direct gets of a subject the stream does not hold while another asks
// for the stream's info and gets a missing key, in turn, for five
// seconds. Rate = direct gets answered per second; latency = the stream
// info requests'; the info column gives their median when idle and the
// key-value misses' medians.
type jsAPIScenario struct{}

func (jsAPIScenario) name() string     { return "js-api" }
func (jsAPIScenario) unit() string     { return "gets/s" }
func (jsAPIScenario) needsStore() bool { return true }

const jsAPIBusy = 5 * time.Second

func (jsAPIScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	nc, err := connect(url, "loadgen-js-api")
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.jsPending))
	if err != nil {
		return result{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := js.CreateStream(cctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.>"}, AllowDirect: true})
	if err != nil {
		return result{}, fmt.Errorf("%w: create stream: %v", errUnsupported, err)
	}
	kv, err := js.CreateKeyValue(cctx, jetstream.KeyValueConfig{Bucket: "probe"})
	if err != nil {
		return result{}, fmt.Errorf("%w: create bucket: %v", errUnsupported, err)
	}
	stall := jetstream.WithStallWait(30 * time.Second)
	for i := range cfg.jsMsgs {
		if _, err := js.PublishAsync("probe.k."+strconv.Itoa(i%100), []byte("value"), stall); err != nil {
			return result{}, fmt.Errorf("fill stream: %w", err)
		}
		if _, err := js.PublishAsync("$KV.probe.k"+strconv.Itoa(i), []byte("value"), stall); err != nil {
			return result{}, fmt.Errorf("fill bucket: %w", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	info := func() (time.Duration, error) {
		t := time.Now()
		_, err := st.Info(ctx)
		return time.Since(t), err
	}
	kvMiss := func() time.Duration {
		t := time.Now()
		kv.Get(ctx, "missing")
		return time.Since(t)
	}
	var idle, kvIdle []time.Duration
	for range 20 {
		d, err := info()
		if err != nil {
			return result{}, err
		}
		idle = append(idle, d)
		kvIdle = append(kvIdle, kvMiss())
	}

	stop := make(chan struct{})
	var gets, failed atomic.Int64
	var wg sync.WaitGroup
	for c := range 4 {
		cn, err := connect(url, "loadgen-js-api-"+strconv.Itoa(c))
		if err != nil {
			close(stop)
			wg.Wait()
			return result{}, err
		}
		wg.Add(1)
		go func(cn *nats.Conn) {
			defer wg.Done()
			defer cn.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := cn.Request("$JS.API.DIRECT.GET.PROBE.probe.missing", nil, 10*time.Second); err != nil {
					failed.Add(1)
					continue
				}
				gets.Add(1)
			}
		}(cn)
	}
	time.Sleep(200 * time.Millisecond) // the loops are running
	mark()
	start, g0 := time.Now(), gets.Load()
	var lat, kvBusy []time.Duration
	for time.Since(start) < jsAPIBusy && ctx.Err() == nil {
		d, err := info()
		if err != nil {
			close(stop)
			wg.Wait()
			return result{}, err
		}
		lat = append(lat, d)
		kvBusy = append(kvBusy, kvMiss())
	}
	res := result{count: gets.Load() - g0, elapsed: time.Since(start), lat: lat}
	close(stop)
	wg.Wait()
	res.expected = res.count
	res.info = fmt.Sprintf("stream info idle %v; KV miss idle %v, busy %v", medianDuration(idle).Round(time.Microsecond), medianDuration(kvIdle).Round(time.Microsecond), medianDuration(kvBusy).Round(time.Microsecond))
	if n := failed.Load(); n > 0 {
		res.note = fmt.Sprintf("%d direct gets failed", n)
	}
	return res, nil
}
