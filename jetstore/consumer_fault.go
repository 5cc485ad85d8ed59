package jetstore

import (
	"time"
)

// A durable consumer whose state cannot be written (the disk is full, an
// I/O error) keeps delivering and taking acks in memory, but confirms no
// ack (AckSync) until its state is on disk again: a confirmation promises
// that the ack survives a crash. The failure is logged once when it
// starts and once when it ends.
//
// After a failed write or fsync the state log's tail is in doubt (a torn
// record, or records that may not be on disk), and records written after
// it would be lost behind it on replay. So the consumer stops writing to
// that log and, once per retry interval (faultRetryMin doubling to
// faultRetryMax), writes its whole state afresh: a snapshot of what is in
// memory, then a new, empty log (rewriteState, what compaction does).
// Once that succeeds, every state change so far is durable, and the held
// confirmations go out. Until then a crash restarts the consumer from its
// last good state: unconfirmed acks are undone and their messages
// delivered again, which at-least-once delivery allows.

// maxHeldConfirms bounds the confirmations a failed consumer holds; past
// it the oldest are dropped (their clients have long given up waiting).
const maxHeldConfirms = 4096

// stateFault is a durable consumer's state while its state cannot be
// written. Only the consumer's goroutine touches it.
type stateFault struct {
	since   time.Time
	retryAt time.Time
	wait    time.Duration
	held    []string // ack confirmations waiting for the state to be written
}

// persistState writes (and, when confirmations wait, fsyncs) the state
// changes of a round of work and returns the ack confirmations that may
// now be sent: all of them once their acks are durable, none while the
// state cannot be written. Consumer goroutine, mu not held.
func (c *consumer) persistState(replies []string, now time.Time) []string {
	if c.fault == nil {
		err := c.log.flush(len(replies) > 0, now)
		if err == nil {
			if c.log.needsCompaction() {
				c.compact(now)
			}
			return replies // the flush made their acks durable
		}
		c.stateFailed(err, now)
	}
	f := c.fault
	f.held = append(f.held, replies...)
	if n := len(f.held) - maxHeldConfirms; n > 0 {
		f.held = append(f.held[:0], f.held[n:]...)
	}
	// Whatever these records say, the rewrite takes from memory; and the
	// old log is not fsynced again.
	c.log.dropBuffered()
	if now.Before(f.retryAt) {
		return nil
	}
	if err := c.rewriteState(); err != nil {
		f.wait = min(2*f.wait, faultRetryMax)
		f.retryAt = now.Add(f.wait)
		return nil
	}
	c.fault = nil
	c.js.log.Info("consumer state writable again", "stream", c.st.name, "consumer", c.name,
		"down_for", now.Sub(f.since).Round(time.Millisecond), "held_confirmations", len(f.held))
	return f.held
}

// stateFailed starts a fault, logging it once.
func (c *consumer) stateFailed(err error, now time.Time) {
	if c.fault != nil {
		return
	}
	c.fault = &stateFault{since: now, wait: faultRetryMin, retryAt: now.Add(faultRetryMin)}
	c.js.log.Error("consumer state write failed; ack confirmations are held until it can be written again",
		"stream", c.st.name, "consumer", c.name, "error", err)
}

// rewriteState writes the whole delivery state afresh: a snapshot, then a
// new empty log that replaces the old one. A crash between the two finds
// the old log no newer than the snapshot and ignores it. Consumer
// goroutine (or close, once it has stopped), mu not held.
func (c *consumer) rewriteState() error {
	c.mu.Lock()
	old := c.log
	s := c.snapshot(old.gen)
	c.mu.Unlock()
	if err := writeSnapshot(c.dir, s); err != nil {
		return err
	}
	l, err := startLog(c.dir, old.gen+1, old.policy, old.every)
	if err != nil {
		return err
	}
	old.abandon()
	c.mu.Lock()
	c.log = l
	c.mu.Unlock()
	return nil
}

// closeState writes the state as the consumer stops: the log's last
// records, or the whole state when the log had failed.
func (c *consumer) closeState() error {
	if c.fault == nil {
		return c.log.close()
	}
	if err := c.rewriteState(); err != nil {
		c.log.abandon()
		return err
	}
	c.fault = nil
	return c.log.close()
}
