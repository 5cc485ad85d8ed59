package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fsyncAllScenario is a scenario both servers must run fsyncing every
// stored message before its PubAck (nats-server with sync_interval:
// always; Wren does so by default).
type fsyncAllScenario interface {
	fsyncAll()
}

// jsSyncScenario: one publisher, one synchronous publish at a time (wait
// for the PubAck, then send the next), both servers fsyncing before every
// PubAck. Each publish costs at least one loopback round trip and one
// fsync; the latencies show how close a server gets to that.
type jsSyncScenario struct{}

func (jsSyncScenario) name() string     { return "js-sync" }
func (jsSyncScenario) unit() string     { return "msgs/s" }
func (jsSyncScenario) needsStore() bool { return true }
func (jsSyncScenario) fsyncAll()        {}

func (jsSyncScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	nc, err := connect(url, "loadgen-js-sync")
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
	n := cfg.jsSyncMsgs
	lat := make([]time.Duration, 0, n)
	mark()
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		t := time.Now()
		if _, err := js.Publish(ctx, jsSubject, payload); err != nil {
			return result{}, fmt.Errorf("publish %d: %w", i, err)
		}
		lat = append(lat, time.Since(t))
	}
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	res := result{count: int64(len(lat)), expected: int64(n), elapsed: elapsed, lat: lat}
	if stored, err := storedMsgs(ctx, st); err != nil {
		res.note = "stream info: " + err.Error()
	} else if stored != uint64(n) {
		res.note = fmt.Sprintf("stream holds %d, acked %d", stored, n)
	}
	return res, nil
}

// jsBatchScenario: atomic batch publish with nats.go and the
// Nats-Batch-* headers, as a gateway uploading readings would: each batch
// of --js-batch messages goes out without waiting, its last message
// commits it and waits for the PubAck. Rate = stored messages per second;
// latency per batch, from its first message to the commit's PubAck.
type jsBatchScenario struct{}

func (jsBatchScenario) name() string     { return "js-batch" }
func (jsBatchScenario) unit() string     { return "msgs/s" }
func (jsBatchScenario) needsStore() bool { return true }

func (jsBatchScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	nc, err := connect(url, "loadgen-js-batch")
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return result{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	st, err := js.CreateStream(cctx, jetstream.StreamConfig{
		Name: jsStream, Subjects: []string{"bench.js.>"}, Storage: jetstream.FileStorage,
		AllowAtomicPublish: true,
	})
	cancel()
	if err != nil {
		return result{}, fmt.Errorf("%w: create stream with allow_atomic: %v", errUnsupported, err)
	}
	payload := cfg.payload()
	size := cfg.jsBatch
	batches := (cfg.jsMsgs + size - 1) / size
	lat := make([]time.Duration, 0, batches)
	stored := 0
	mark()
	start := time.Now()
	for b := 0; b < batches && ctx.Err() == nil; b++ {
		n := min(size, cfg.jsMsgs-b*size)
		id := "lg-" + strconv.Itoa(b)
		t := time.Now()
		for i := 1; i <= n; i++ {
			m := &nats.Msg{Subject: jsSubject, Data: payload, Header: nats.Header{
				"Nats-Batch-Id":       []string{id},
				"Nats-Batch-Sequence": []string{strconv.Itoa(i)},
			}}
			if i < n {
				if err := nc.PublishMsg(m); err != nil {
					return result{}, err
				}
				continue
			}
			m.Header["Nats-Batch-Commit"] = []string{"1"}
			r, err := nc.RequestMsg(m, 10*time.Second)
			if err != nil {
				return result{}, fmt.Errorf("commit of batch %d: %w", b, err)
			}
			var ack struct {
				Count int                 `json:"count"`
				Error *jetstream.APIError `json:"error"`
			}
			if err := json.Unmarshal(r.Data, &ack); err != nil || ack.Error != nil || ack.Count != n {
				return result{}, fmt.Errorf("%w: commit of batch %d: %s", errUnsupported, b, r.Data)
			}
		}
		lat = append(lat, time.Since(t))
		stored += n
	}
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	res := result{count: int64(stored), expected: int64(cfg.jsMsgs), elapsed: elapsed, lat: lat}
	if got, err := storedMsgs(ctx, st); err != nil {
		res.note = "stream info: " + err.Error()
	} else if got != uint64(stored) {
		res.note = fmt.Sprintf("stream holds %d, acked %d", got, stored)
	}
	res.info = fmt.Sprintf("%d batches of %d", batches, size)
	return res, nil
}
