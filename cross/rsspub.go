package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pubWindow is how many stream publishes may wait for their PubAck at once.
const pubWindow = 256

// pubTally is what a paced publish run saw: every publish handed to the
// connection, and every PubAck or error the server answered it with.
type pubTally struct {
	sent, acked int
	errs        []error // PubAck errors, the first few
	nerrs       int
	waits       int           // publishes that waited for the window to drain
	longest     time.Duration // the longest such wait
}

// pacedJS is a JetStream context that counts every PubAck and every
// error the server answers an async publish with.
type pacedJS struct {
	jetstream.JetStream
	mu sync.Mutex
	t  pubTally
}

func newPacedJS(nc *nats.Conn) (*pacedJS, error) {
	p := &pacedJS{}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(pubWindow),
		jetstream.WithPublishAsyncAckHandler(func(jetstream.JetStream, *nats.Msg, *jetstream.PubAck) {
			p.mu.Lock()
			p.t.acked++
			p.mu.Unlock()
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			p.mu.Lock()
			p.t.nerrs++
			if len(p.t.errs) < 3 {
				p.t.errs = append(p.t.errs, err)
			}
			p.mu.Unlock()
		}))
	if err != nil {
		return nil, err
	}
	p.JetStream = js
	return p, nil
}

func (p *pacedJS) tally() pubTally {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.t
	out.errs = append([]error(nil), p.t.errs...)
	return out
}

// publishPaced publishes payload to subject at rate msg/s for dur, asking
// for a PubAck on each, then waits up to grace for every outstanding
// PubAck. tick runs between publishes (memory sampling).
//
// A loaded machine makes the daemon, or this process, slow to answer: the
// window of pubWindow unanswered publishes then fills and publishing waits
// for it to drain, up to the end of the run plus grace, rather than giving
// the publish up. So the only failures it reports are the daemon's: a
// PubAck that carries an error, a lost connection, or publishes still
// unanswered grace after the last one was sent on a live connection.
func (p *pacedJS) publishPaced(subject string, payload []byte, rate int, dur, grace time.Duration, tick func()) (pubTally, error) {
	interval := time.Second / time.Duration(max(rate, 1))
	next := time.Now()
	end := next.Add(dur)
	for time.Now().Before(end) {
		// A daemon that answers none of a full window for the rest of
		// the run plus grace has lost them.
		full := p.PublishAsyncPending() >= pubWindow
		began := time.Now()
		if _, err := p.PublishAsync(subject, payload, jetstream.WithStallWait(time.Until(end)+grace)); err != nil {
			t := p.tally()
			return t, fmt.Errorf("publish %d: %w (%d unanswered)", t.sent+1, err, p.PublishAsyncPending())
		}
		p.mu.Lock()
		p.t.sent++
		if full {
			p.t.waits++
			p.t.longest = max(p.t.longest, time.Since(began))
		}
		p.mu.Unlock()
		if tick != nil {
			tick()
		}
		next = next.Add(interval)
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
	}
	select {
	case <-p.PublishAsyncComplete():
	case <-time.After(grace):
		return p.tally(), fmt.Errorf("%d of %d publishes unanswered %s after the last was sent",
			p.PublishAsyncPending(), p.tally().sent, grace)
	}
	// PublishAsyncComplete fires when the last reply is matched, which
	// can be just before its handler has counted it.
	t := p.tally()
	for deadline := time.Now().Add(grace); t.acked+t.nerrs < t.sent && time.Now().Before(deadline); t = p.tally() {
		time.Sleep(10 * time.Millisecond)
	}
	if t.nerrs > 0 {
		return t, fmt.Errorf("%d of %d publishes answered with an error: %w", t.nerrs, t.sent, errors.Join(t.errs...))
	}
	if t.acked != t.sent {
		return t, fmt.Errorf("%d of %d publishes acknowledged", t.acked, t.sent)
	}
	return t, nil
}
