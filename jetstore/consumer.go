package jetstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// consumer is a view of a stream that delivers its messages to clients,
// by pull requests or to a deliver subject, and tracks their acks.
//
// One goroutine (run) owns the delivery state and does every delivery,
// ack, redelivery and timer. Other goroutines hand it work through the
// inbox (acks from the bus, pull requests from the API) and read its state
// under mu for CONSUMER.INFO. mu is never held while another goroutine's
// work is awaited, and bus handlers never take it.
type consumer struct {
	st      *stream
	js      *JetStream
	name    string
	created time.Time
	dir     string // where the durable state lives; "" keeps it in memory

	in inbox
	// role is held for a whole round of work (work, or an inline round at
	// the end of a client's read buffer, consumer_inline.go): whoever
	// holds it owns what only the consumer's goroutine touches (the state
	// log's writes and fsyncs, fault, the timer's next wake).
	role sync.Mutex
	// onReader is set while a round runs on a client's read loop.
	onReader bool

	// deadLetters counts the messages this consumer gave up on
	// (terminated or out of deliveries), redeliveries the deliveries of a
	// message it had delivered before, in this process, for monitoring.
	deadLetters, redeliveries atomic.Uint64

	mu        sync.Mutex
	cfg       ConsumerConfig
	filters   []string // nil delivers every subject
	closed    bool
	retention string         // the stream's, which never changes
	owner     *consumerOwner // who created or last updated it; nil: nobody with permissions

	// Delivery state.
	dseq    uint64                 // last consumer sequence handed out
	sseq    uint64                 // next stream sequence for a first delivery
	pending map[uint64]*pendingMsg // delivered and not yet acked, by stream sequence
	held    map[uint64]struct{}    // interest: given up on, and still kept (stream_interest.go)
	rdq     []uint64               // stream sequences due for redelivery
	due     deadlineHeap           // ack deadlines, with stale entries skipped lazily
	ahead   []store.StoredMsg      // matching messages from sseq on, read ahead
	lps     map[uint64]struct{}    // last_per_subject: the sequences to deliver up to lpsEnd
	lpsEnd  uint64
	npend   uint64 // filtered consumers: matching messages from sseq to counted
	counted uint64
	// pendMark is the store's removalMark when npend was last counted
	// afresh, aheadMark the one when ahead was read.
	pendMark, aheadMark removalMark
	// purgedBelow is the stream's first sequence when pending was last
	// checked for messages removed from the front.
	purgedBelow uint64

	waiting []*pullRequest
	// emit, set during a round of deliveries, sends them (see deliver).
	emit func(route, subject, reply string, header, data []byte) error
	// roundPend is num_pending as a round of deliveries goes, counted at
	// its first delivery (roundPendOK).
	roundPend   uint64
	roundPendOK bool
	// freePending holds pendingMsgs of acked messages for reuse.
	freePending []*pendingMsg
	// ackPrefix is "$JS.ACK.<stream>.<consumer>."; ackBuf holds the last
	// ack subject built on it.
	ackPrefix, ackBuf []byte
	push              pushState
	replay            replayState

	lastActive time.Time
	expiring   bool
	// lastDelivered and lastAcked are the last_active times of the
	// delivered and ack_floor sections of ConsumerInfo; zero until then.
	lastDelivered, lastAcked time.Time

	log   *stateLog
	fault *stateFault // set while log cannot be written (consumer_fault.go)

	// Work gathered under mu and finished without it.
	syncReplies []string
	dead        []deadLetter
	naked       []deadLetter // -NAKed messages to advise of
	removed     []uint64

	timer *time.Timer
	quit  chan struct{}
	done  chan struct{}
}

// pendingMsg is a delivered message awaiting its ack.
type pendingMsg struct {
	cseq       uint64 // consumer sequence of the latest delivery
	deliveries uint64
	ts         int64 // time of the latest delivery, unix ns
	deadline   int64 // when it is due again; 0 while queued for redelivery
	queued     bool  // in rdq
}

// inbox is where bus handlers and the API leave work for the consumer's
// goroutine. It never blocks its callers.
type inbox struct {
	mu   sync.Mutex
	acks []ackReq
	// spare is the acks slice the consumer handed back, emptied, for the
	// next round to fill without growing a new one.
	spare []ackReq
	reqs  []*pullRequest
	fc    []string
	kick  chan struct{}
}

// maxInboxAcks bounds the acks queued for one consumer; past it acks are
// dropped (their messages are redelivered after ack_wait).
const maxInboxAcks = 1 << 20

func (q *inbox) signal() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// addAck queues an ack; wake is false when the consumer is called back
// at the end of the read buffer instead (consumer_inline.go).
func (q *inbox) addAck(a ackReq, wake bool) {
	q.mu.Lock()
	ok := len(q.acks) < maxInboxAcks
	if ok {
		q.acks = append(q.acks, a)
	}
	q.mu.Unlock()
	if ok && wake {
		q.signal()
	}
}

// addRequest queues a pull request; wake as for addAck.
func (q *inbox) addRequest(r *pullRequest, wake bool) {
	q.mu.Lock()
	q.reqs = append(q.reqs, r)
	q.mu.Unlock()
	if wake {
		q.signal()
	}
}

func (q *inbox) addFC(subject string) {
	q.mu.Lock()
	q.fc = append(q.fc, subject)
	q.mu.Unlock()
	q.signal()
}

// newConsumer builds a consumer positioned by its state; start runs it.
func newConsumer(st *stream, cfg ConsumerConfig, created time.Time, dir string) *consumer {
	c := &consumer{
		st:         st,
		js:         st.js,
		name:       cfg.Name,
		created:    created,
		dir:        dir,
		cfg:        cfg,
		filters:    cfg.filters(),
		retention:  st.cfg().Retention,
		pending:    make(map[uint64]*pendingMsg),
		lastActive: time.Now(),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.in.kick = make(chan struct{}, 1)
	return c
}

// persistent reports whether a consumer with cfg on st keeps its state on
// disk.
func persistent(st *stream, cfg ConsumerConfig) bool {
	return cfg.durable() && !cfg.MemoryStorage && st.cfg().Storage == StorageFile
}

func (c *consumer) start() {
	c.timer = time.NewTimer(0) // a first round of work at once
	go c.run()
}

// notify tells the consumer the stream changed. It never blocks.
func (c *consumer) notify() { c.in.signal() }

// close stops the consumer and flushes its state; the state stays on disk.
func (c *consumer) close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.quit)
	<-c.done
	if c.log != nil {
		return c.closeState()
	}
	return nil
}

// remove stops the consumer, tells its waiting clients, and deletes its
// state.
func (c *consumer) remove() {
	c.mu.Lock()
	waiting := c.waiting
	c.waiting = nil
	deliver := c.cfg.DeliverSubject
	if c.push.denied != "" {
		deliver = "" // nothing goes where the owner may not publish
	}
	c.mu.Unlock()
	c.close()
	for _, r := range waiting {
		c.sendStatus(r.reply, protocol.StatusConflict, "Consumer Deleted", nil)
	}
	if deliver != "" {
		c.sendStatus(deliver, protocol.StatusConflict, "Consumer Deleted", nil)
	}
	if c.dir != "" {
		if err := removeConsumerDir(c.dir); err != nil {
			c.js.log.Warn("could not remove a deleted consumer's files", "stream", c.st.name, "consumer", c.name, "error", err)
		}
	}
}

// run is the consumer's goroutine.
func (c *consumer) run() {
	defer close(c.done)
	defer c.timer.Stop()
	for {
		select {
		case <-c.quit:
			c.role.Lock()
			c.work()
			c.role.Unlock()
			return
		case <-c.in.kick:
		case <-c.timer.C:
		}
		c.role.Lock()
		c.work()
		c.role.Unlock()
	}
}

// work does everything that is due: queued acks and requests, timers and
// deliveries. State changes are logged, and the log flushed (and fsynced
// when an ack awaits its confirmation) before confirmations go out. The
// role is held.
func (c *consumer) work() {
	c.in.mu.Lock()
	acks, reqs, fcs := c.in.take()
	c.in.mu.Unlock()
	now := time.Now()
	c.mu.Lock()
	c.round(acks, reqs, fcs, now)
}

// take empties the inbox and returns what it held. q.mu is held.
func (q *inbox) take() (acks []ackReq, reqs []*pullRequest, fcs []string) {
	acks, reqs, fcs = q.acks, q.reqs, q.fc
	q.acks, q.reqs, q.fc = q.spare, nil, nil
	q.spare = nil
	return acks, reqs, fcs
}

// round is a round of work on what was taken from the inbox. The role
// and mu are held; it releases mu.
func (c *consumer) round(acks []ackReq, reqs []*pullRequest, fcs []string, now time.Time) {
	defer c.recycleAcks(acks)
	if len(acks) > 0 || len(reqs) > 0 || len(fcs) > 0 {
		c.lastActive = now
	}
	for i := range acks {
		c.processAck(&acks[i], now)
	}
	for _, subj := range fcs {
		c.flowControlReply(subj)
	}
	for _, r := range reqs {
		c.addRequest(r, now)
	}
	c.expireRequests(now)
	c.checkDeadlines(now)
	more := c.deliver(now)
	c.heartbeats(now)
	inactive := c.checkInactive(now)
	next := c.nextWake(now)
	replies, dead, removed, naked := c.syncReplies, c.dead, c.removed, c.naked
	c.syncReplies, c.dead, c.removed, c.naked = nil, nil, nil, nil
	c.mu.Unlock()

	c.reportDenied()
	for _, d := range naked {
		c.publishAdvisory(d)
	}

	// Dead letters are stored (and fsynced) in their stream before the
	// consumer's log records that it gave up on them: a crash in between
	// redelivers and dead-letters them again, and the copy's message id
	// keeps the second copy out. The other order could lose them.
	if len(dead) > 0 {
		c.handleDeadLetters(dead)
	}
	if c.log != nil {
		replies = c.persistState(replies, now)
	}
	// Removals are queued before acks are confirmed: a client that saw
	// its confirmation and then a later removal knows its ack was seen.
	if len(removed) > 0 {
		c.st.queueRemoval(removed)
	}
	for _, r := range replies {
		c.js.bus.Publish(r, "", nil, nil)
	}
	if inactive {
		go c.js.deleteConsumer(c.st, c.name, c)
	}
	if more {
		c.in.signal()
	}
	c.timer.Reset(next)
}

// recycleAcks hands the drained acks slice back to the inbox, unless it
// grew large under a burst.
func (c *consumer) recycleAcks(acks []ackReq) {
	if cap(acks) == 0 || cap(acks) > 4096 {
		return
	}
	clear(acks)
	c.in.mu.Lock()
	if c.in.spare == nil {
		c.in.spare = acks[:0]
	}
	c.in.mu.Unlock()
}

// nextWake returns how long until something is due. mu is held.
func (c *consumer) nextWake(now time.Time) time.Duration {
	at := deadlineAt(now, time.Hour)
	if len(c.due) > 0 {
		at = min(at, c.due[0].at)
	}
	for _, r := range c.waiting {
		if r.expiresAt > 0 {
			at = min(at, r.expiresAt)
		}
		if r.hb > 0 {
			at = min(at, r.nextHB)
		}
	}
	if !c.cfg.isPull() {
		if hb := c.cfg.Heartbeat; hb > 0 {
			at = min(at, c.push.lastSent+int64(hb))
		}
		if !c.push.bound || c.push.denied != "" {
			at = min(at, deadlineAt(now, interestPoll))
		}
	}
	if t := c.cfg.InactiveThreshold; t > 0 && !c.expiring {
		at = min(at, deadlineAt(c.lastActive, t))
	}
	if c.replay.due > 0 {
		at = min(at, c.replay.due)
	}
	if c.fault != nil {
		at = min(at, c.fault.retryAt.UnixNano())
	}
	if c.log != nil {
		if t := c.log.syncDue(); t > 0 {
			at = min(at, t)
		}
	}
	return max(time.Duration(at-now.UnixNano()), time.Millisecond)
}

// checkInactive reports whether the consumer has gone unused for its
// inactive threshold. mu is held.
func (c *consumer) checkInactive(now time.Time) bool {
	t := c.cfg.InactiveThreshold
	if t <= 0 || c.expiring || len(c.waiting) > 0 || now.Sub(c.lastActive) < t {
		return false
	}
	c.expiring = true
	return true
}

// checkDeadlines queues for redelivery the messages whose ack wait (or nak
// delay) ran out. mu is held.
func (c *consumer) checkDeadlines(now time.Time) {
	t := now.UnixNano()
	for len(c.due) > 0 && c.due[0].at <= t {
		e := c.due.pop()
		p := c.pending[e.seq]
		if p == nil || p.queued || p.deadline != e.at {
			continue
		}
		c.redeliverLater(e.seq, p, "")
	}
	if len(c.due) > 2*len(c.pending)+1024 {
		c.rebuildDeadlines()
	}
}

// rebuildDeadlines drops stale heap entries.
func (c *consumer) rebuildDeadlines() {
	c.due = c.due[:0]
	for seq, p := range c.pending {
		if !p.queued {
			c.due = append(c.due, deadlineEntry{p.deadline, seq})
		}
	}
	c.due.init()
}

// redeliverLater queues a pending message for redelivery, or gives up on
// it when it has used up max_deliver. mu is held.
func (c *consumer) redeliverLater(seq uint64, p *pendingMsg, _ string) {
	if md := c.cfg.MaxDeliver; md > 0 && p.deliveries >= uint64(md) {
		c.giveUp(seq, p, reasonMaxDeliveries, "")
		return
	}
	p.queued = true
	p.deadline = 0
	c.rdq = append(c.rdq, seq)
}

// setDeadline arms a pending message's ack timer. mu is held.
func (c *consumer) setDeadline(seq uint64, p *pendingMsg, at int64) {
	p.deadline = at
	c.due.push(deadlineEntry{at, seq})
}

// giveUp drops a pending message for good: terminated or out of
// deliveries. It is logged like an ack and dead-lettered; an interest
// stream keeps it until handleDeadLetters says whether that counts as
// done. mu is held.
func (c *consumer) giveUp(seq uint64, p *pendingMsg, reason, detail string) {
	delete(c.pending, seq)
	c.hold(seq)
	if c.log != nil {
		c.log.ack(seq)
	}
	c.dead = append(c.dead, deadLetter{seq: seq, cseq: p.cseq, deliveries: p.deliveries, reason: reason, detail: detail})
}

// maxFreePending bounds the pendingMsgs kept for reuse.
const maxFreePending = 1024

// newPending returns a zeroed pendingMsg, reused when one is free. mu is
// held.
func (c *consumer) newPending() *pendingMsg {
	if n := len(c.freePending); n > 0 {
		p := c.freePending[n-1]
		c.freePending = c.freePending[:n-1]
		*p = pendingMsg{}
		return p
	}
	return &pendingMsg{}
}

// acked removes an acked message from pending; its pendingMsg is kept for
// the next delivery. mu is held.
func (c *consumer) acked(seq uint64) {
	if p := c.pending[seq]; p != nil && len(c.freePending) < maxFreePending {
		c.freePending = append(c.freePending, p)
	}
	delete(c.pending, seq)
	if c.log != nil {
		c.log.ack(seq)
	}
	c.finished(seq)
}

// ackFloor returns the sequences below which everything is acked. mu is
// held.
func (c *consumer) ackFloor() (cseq, sseq uint64) {
	if c.cfg.AckPolicy == AckNone || len(c.pending) == 0 {
		return c.dseq, c.sseq - 1
	}
	minS, minC := ^uint64(0), ^uint64(0)
	for seq, p := range c.pending {
		minS = min(minS, seq)
		minC = min(minC, p.cseq)
	}
	return minC - 1, minS - 1
}

// info builds the consumer's ConsumerInfo.
func (c *consumer) info(typ string) *ConsumerInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	fc, fs := c.ackFloor()
	ci := &ConsumerInfo{
		Type:          typ,
		Stream:        c.st.name,
		Name:          c.name,
		Created:       c.created,
		Config:        c.cfg,
		Delivered:     SequenceInfo{Consumer: c.dseq, Stream: c.sseq - 1},
		AckFloor:      SequenceInfo{Consumer: fc, Stream: fs},
		NumAckPending: len(c.pending),
		NumWaiting:    len(c.waiting),
		NumPending:    c.numPending(),
		PushBound:     !c.cfg.isPull() && c.js.bus.HasInterest(c.cfg.DeliverSubject),
		TS:            time.Now().UTC(),
	}
	if !c.cfg.isPull() {
		ci.DeliveryDenied = c.push.denied
	}
	if !c.lastDelivered.IsZero() {
		t := c.lastDelivered.UTC()
		ci.Delivered.Last = &t
	}
	if !c.lastAcked.IsZero() {
		t := c.lastAcked.UTC()
		ci.AckFloor.Last = &t
	}
	for _, p := range c.pending {
		if p.deliveries > 1 {
			ci.NumRedelivered++
		}
	}
	return ci
}

// matches reports whether subject passes the consumer's filters.
func (c *consumer) matches(subject string) bool {
	return c.filters == nil || matchesAny(subject, c.filters)
}

// notifyConsumers tells every consumer that the stream changed.
func (st *stream) notifyConsumers() {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, c := range st.consumers {
		c.notify()
	}
}

// closeConsumers stops every consumer of the stream.
func (st *stream) closeConsumers() {
	st.mu.Lock()
	cs := st.consumers
	st.consumers = make(map[string]*consumer)
	st.mu.Unlock()
	for _, c := range cs {
		if err := c.close(); err != nil {
			st.js.log.Error("close consumer", "stream", st.name, "consumer", c.name, "error", err)
		}
	}
}

// consumer returns the named consumer of the stream, or nil.
func (st *stream) consumer(name string) *consumer {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.consumers[name]
}
