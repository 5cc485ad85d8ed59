package jetstore

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// Response type names, as the reference server sends them.
const (
	typeConsumerCreate = "io.nats.jetstream.api.v1.consumer_create_response"
	typeConsumerInfo   = "io.nats.jetstream.api.v1.consumer_info_response"
	typeConsumerDelete = "io.nats.jetstream.api.v1.consumer_delete_response"
	typeConsumerNames  = "io.nats.jetstream.api.v1.consumer_names_response"
	typeConsumerList   = "io.nats.jetstream.api.v1.consumer_list_response"
)

type consumerNamesResponse struct {
	Type      string    `json:"type,omitempty"`
	Error     *APIError `json:"error,omitempty"`
	Total     int       `json:"total"`
	Offset    int       `json:"offset"`
	Limit     int       `json:"limit"`
	Consumers []string  `json:"consumers"`
}

type consumerListResponse struct {
	Type      string          `json:"type,omitempty"`
	Error     *APIError       `json:"error,omitempty"`
	Total     int             `json:"total"`
	Offset    int             `json:"offset"`
	Limit     int             `json:"limit"`
	Consumers []*ConsumerInfo `json:"consumers"`
}

// startConsumerLayer subscribes to the subjects acks, flow control replies
// and dead-letter replays arrive on, and starts the replay goroutine.
func (js *JetStream) startConsumerLayer() error {
	for _, s := range []struct {
		subject string
		h       func(*protocol.Msg)
	}{
		{ackPrefix + ">", js.onAck},
		{fcPrefix + ">", js.onFlowControl},
		{replayAPIPrefix + "*", js.onReplay},
	} {
		unsub, err := js.bus.Subscribe(s.subject, "", s.h)
		if err != nil {
			js.stopConsumerLayer()
			return err
		}
		js.consumerUnsubs = append(js.consumerUnsubs, unsub)
	}
	js.replayQ = make(chan *protocol.Msg, 1)
	js.wg.Add(1)
	go js.replayLoop()
	return nil
}

func (js *JetStream) stopConsumerLayer() {
	for _, u := range js.consumerUnsubs {
		u()
	}
	js.consumerUnsubs = nil
}

// consumerAPI serves the $JS.API.CONSUMER.> requests.
func (js *JetStream) consumerAPI(m *protocol.Msg, tok []string) {
	reply := string(m.Reply)
	n := len(tok)
	switch {
	case n >= 3 && tok[1] == "CREATE":
		if js.deliverSubjectDenied(m) {
			return
		}
		name, filter := "", ""
		if n >= 4 {
			name = tok[3]
		}
		if n >= 5 {
			filter = strings.Join(tok[4:], ".")
		}
		js.apiConsumerCreate(reply, tok[2], name, filter, n == 3, m.Data, ownerOf(m.Sender))
	case n == 5 && tok[1] == "DURABLE" && tok[2] == "CREATE":
		if js.deliverSubjectDenied(m) {
			return
		}
		js.apiConsumerCreate(reply, tok[3], tok[4], "", false, m.Data, ownerOf(m.Sender))
	case n == 4 && tok[1] == "INFO":
		js.apiConsumerInfo(reply, tok[2], tok[3])
	case n == 4 && tok[1] == "DELETE":
		js.apiConsumerDelete(reply, tok[2], tok[3])
	case n == 3 && (tok[1] == "NAMES" || tok[1] == "LIST"):
		js.apiConsumerList(reply, tok[2], tok[1] == "NAMES", m.Data)
	case n == 5 && tok[1] == "MSG" && tok[2] == "NEXT":
		js.apiNext(reply, tok[3], tok[4], m.Data, m.Sender, false)
	default:
		js.fail(reply, errUnknownAPI(string(m.Subject)))
	}
}

func (js *JetStream) apiConsumerCreate(reply, streamName, name, filter string, ephemeralForm bool, data []byte, owner *consumerOwner) {
	st := js.lookup(streamName)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	var req consumerCreateRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	if req.Config == nil {
		js.fail(reply, errConsumerConfigRequired())
		return
	}
	if req.Stream != "" && req.Stream != streamName {
		js.fail(reply, errStreamMismatch())
		return
	}
	switch req.Action {
	case actionCreateOrUpdate, actionCreate, actionUpdate:
	default:
		js.fail(reply, errBadRequest("unknown consumer action "+req.Action))
		return
	}
	cfg := *req.Config
	if ephemeralForm {
		if cfg.Durable != "" {
			js.fail(reply, errConsumerEphemeralDurable())
			return
		}
		if cfg.Name == "" {
			cfg.Name = randomName()
		}
	} else {
		if (cfg.Name != "" && cfg.Name != name) || (cfg.Durable != "" && cfg.Durable != name) {
			js.fail(reply, errConsumerNameMismatch())
			return
		}
		cfg.Name = name
	}
	if filter != "" {
		if len(cfg.FilterSubjects) > 1 {
			js.fail(reply, errConsumerMultipleFilters())
			return
		}
		f := cfg.FilterSubject
		if f == "" && len(cfg.FilterSubjects) == 1 {
			f = cfg.FilterSubjects[0]
		}
		if f != filter {
			js.fail(reply, errConsumerFilterMismatch())
			return
		}
	}
	if l := js.lim.maxAckPending; cfg.MaxAckPending == 0 && cfg.AckPolicy != AckNone && l > 0 && l < defaultMaxAckPending {
		cfg.MaxAckPending = l
	}
	ncfg, e := normalizeConsumer(cfg, st.cfg())
	if e == nil {
		e = js.checkConsumerLimits(ncfg)
	}
	if e != nil {
		js.fail(reply, e)
		return
	}
	var info *ConsumerInfo
	if !st.do(func() { info, e = st.createConsumer(ncfg, req.Action, owner) }) {
		e = errStreamNotFound()
	}
	if e != nil {
		js.fail(reply, e)
		return
	}
	js.respond(reply, info)
}

// randomName names an ephemeral consumer.
func randomName() string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [8]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b[:])
}

// createConsumer adds a consumer or updates an existing one, owned by
// owner (nil: nobody with permissions). It runs on the stream's writer
// goroutine, so no message is stored while a new consumer picks its
// starting point.
func (st *stream) createConsumer(cfg ConsumerConfig, action string, owner *consumerOwner) (*ConsumerInfo, *APIError) {
	st.mu.RLock()
	existing := st.consumers[cfg.Name]
	others := make([]*consumer, 0, len(st.consumers))
	for _, c := range st.consumers {
		if c != existing {
			others = append(others, c)
		}
	}
	st.mu.RUnlock()
	if existing != nil {
		if action == actionCreate && !sameConsumerConfig(existing.config(), cfg) {
			return nil, errConsumerExists()
		}
		if e := existing.update(cfg, owner); e != nil {
			return nil, e
		}
		return existing.info(typeConsumerCreate), nil
	}
	if action == actionUpdate {
		return nil, errConsumerDoesNotExist()
	}
	scfg := st.config
	if scfg.MaxConsumers > 0 && len(others) >= scfg.MaxConsumers {
		return nil, errMaxConsumers()
	}
	if l := st.js.lim.maxConsumers; l > 0 {
		// Held until the consumer is registered, so that streams creating
		// consumers at once cannot pass the limit together.
		st.js.consumerMu.Lock()
		defer st.js.consumerMu.Unlock()
		if st.js.consumerCount() >= l {
			return nil, errMaxConsumers()
		}
	}
	if scfg.Retention == RetentionWorkQueue {
		mine := cfg.filters()
		for _, o := range others {
			ocfg := o.config()
			theirs := ocfg.filters()
			if len(mine) == 0 && len(theirs) == 0 {
				return nil, errWQMultipleUnfiltered()
			}
			if filtersOverlap(mine, theirs) {
				return nil, errWQNotUnique()
			}
		}
	}
	c := newConsumer(st, cfg, time.Now().UTC(), "")
	c.owner = owner
	c.position()
	if persistent(st, cfg) {
		c.dir = filepath.Join(st.dir, "consumers", cfg.Name)
		if err := c.initState(); err != nil {
			store.RemoveAll(c.dir)
			st.js.log.Error("create consumer", "stream", st.name, "consumer", cfg.Name, "error", err)
			return nil, errConsumerStore(clientError(err))
		}
	}
	st.mu.Lock()
	st.consumers[cfg.Name] = c
	st.mu.Unlock()
	c.start()
	st.js.log.Info("consumer created", "stream", st.name, "consumer", cfg.Name, "durable", cfg.durable(), "pull", cfg.isPull())
	return c.info(typeConsumerCreate), nil
}

// filtersOverlap reports whether two filter sets (nil is every subject)
// can match one subject.
func filtersOverlap(a, b []string) bool {
	if len(a) == 0 {
		a = []string{">"}
	}
	if len(b) == 0 {
		b = []string{">"}
	}
	for _, x := range a {
		for _, y := range b {
			if protocol.Overlap(x, y) {
				return true
			}
		}
	}
	return false
}

func (c *consumer) config() ConsumerConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// update applies a new configuration to a running consumer, now owned by
// owner: the requester, whose permissions were checked for it.
func (c *consumer) update(cfg ConsumerConfig, owner *consumerOwner) *APIError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sameConsumerConfig(c.cfg, cfg) {
		if cfg.DeliverSubject == "" {
			return nil
		}
		if err := c.setOwner(owner); err != nil {
			c.js.log.Error("update consumer", "stream", c.st.name, "consumer", c.name, "error", err)
			return errConsumerCreate(clientError(err).Error())
		}
		c.in.signal()
		return nil
	}
	if e := checkConsumerUpdate(c.cfg, cfg); e != nil {
		return e
	}
	old, oldOwner := c.cfg, c.owner
	c.cfg, c.owner = cfg, owner
	if c.dir != "" {
		if err := c.saveMeta(); err != nil {
			c.cfg, c.owner = old, oldOwner
			c.js.log.Error("update consumer", "stream", c.st.name, "consumer", c.name, "error", err)
			return errConsumerCreate(clientError(err).Error())
		}
	}
	if !slices.Equal(old.filters(), cfg.filters()) {
		c.filters = cfg.filters()
		c.ahead = nil
		c.npend, c.counted = 0, c.sseq-1
		c.pendMark = removalMark{}
		if c.retention == RetentionInterest {
			// What only the old filters matched is no longer held.
			c.st.requestRescan(c.interestFloor(), true)
		}
	}
	c.in.signal()
	return nil
}

// position sets where a new consumer starts. Writer goroutine.
func (c *consumer) position() {
	st := c.st
	state := st.store.State()
	cfg := &c.cfg
	switch cfg.DeliverPolicy {
	case DeliverAll:
		c.sseq = state.FirstSeq
	case DeliverNew:
		c.sseq = state.LastSeq + 1
	case DeliverByStartSeq:
		c.sseq = cfg.OptStartSeq
	case DeliverByStartTime:
		c.sseq = state.LastSeq + 1
		t := cfg.OptStartTime.UnixNano()
		st.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
			if m.Time >= t {
				c.sseq = m.Seq
				return false
			}
			return true
		})
	case DeliverLast:
		c.sseq = state.LastSeq + 1
		if c.filters == nil {
			if state.Msgs > 0 {
				c.sseq = state.LastSeq
			}
			break
		}
		var last uint64
		for seq := range st.lastPerSubject(c.filters, state.LastSeq) {
			last = max(last, seq)
		}
		if last > 0 {
			c.sseq = last
		}
	case DeliverLastPerSubject:
		c.sseq = state.LastSeq + 1
		c.lps = st.lastPerSubject(c.filters, state.LastSeq)
		c.lpsEnd = state.LastSeq
		for seq := range c.lps {
			c.sseq = min(c.sseq, seq)
		}
		if len(c.lps) == 0 {
			c.lps = nil
		}
	}
	c.sseq = max(c.sseq, 1)
	c.counted = c.sseq - 1
}

// lastPerSubject returns the last sequence, up to upTo, of each subject
// that passes filters (nil passes all).
func (st *stream) lastPerSubject(filters []string, upTo uint64) map[uint64]struct{} {
	match := func(s string) bool {
		if filters == nil {
			return true
		}
		for _, f := range filters {
			if protocol.MatchLiteral(s, f) {
				return true
			}
		}
		return false
	}
	set := make(map[uint64]struct{})
	exact := true
	st.mu.RLock()
	for subj, ss := range st.subjects {
		if !match(subj) {
			continue
		}
		if ss.last == 0 || ss.last > upTo {
			exact = false
			break
		}
		set[ss.last] = struct{}{}
	}
	st.mu.RUnlock()
	if exact {
		return set
	}
	last := make(map[string]uint64)
	st.store.Scan(st.store.State().FirstSeq, func(m store.StoredMsg) bool {
		if m.Seq > upTo {
			return false
		}
		if match(m.Subject) {
			last[m.Subject] = m.Seq
		}
		return true
	})
	clear(set)
	for _, seq := range last {
		set[seq] = struct{}{}
	}
	return set
}

func (js *JetStream) apiConsumerInfo(reply, streamName, name string) {
	st := js.lookup(streamName)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	c := st.consumer(name)
	if c == nil {
		js.fail(reply, errConsumerNotFound())
		return
	}
	js.respond(reply, c.info(typeConsumerInfo))
}

func (js *JetStream) apiConsumerDelete(reply, streamName, name string) {
	st := js.lookup(streamName)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	if !js.deleteConsumer(st, name, nil) {
		js.fail(reply, errConsumerNotFound())
		return
	}
	js.respond(reply, &apiResponse{Type: typeConsumerDelete, Success: true})
}

// deleteConsumer removes the named consumer (only if it is still want,
// when want is given) and its state. It reports whether it did.
func (js *JetStream) deleteConsumer(st *stream, name string, want *consumer) bool {
	st.mu.Lock()
	c := st.consumers[name]
	if c == nil || (want != nil && c != want) {
		st.mu.Unlock()
		return false
	}
	delete(st.consumers, name)
	st.mu.Unlock()
	c.remove()
	st.consumerGone(c)
	js.log.Info("consumer deleted", "stream", st.name, "consumer", name)
	return true
}

func (js *JetStream) apiConsumerList(reply, streamName string, namesOnly bool, data []byte) {
	var req listRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	st := js.lookup(streamName)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	st.mu.RLock()
	list := make([]*consumer, 0, len(st.consumers))
	for _, c := range st.consumers {
		list = append(list, c)
	}
	st.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	if namesOnly {
		resp := consumerNamesResponse{Type: typeConsumerNames, Total: len(list), Offset: req.Offset, Limit: apiPageSize, Consumers: []string{}}
		for _, c := range page(list, req.Offset) {
			resp.Consumers = append(resp.Consumers, c.name)
		}
		js.respond(reply, &resp)
		return
	}
	resp := consumerListResponse{Type: typeConsumerList, Total: len(list), Offset: req.Offset, Limit: apiPageSize, Consumers: []*ConsumerInfo{}}
	for _, c := range page(list, req.Offset) {
		resp.Consumers = append(resp.Consumers, c.info(""))
	}
	js.respond(reply, &resp)
}

// apiNext queues a pull request with its consumer. onReader says it runs
// in the handler the request was delivered to (serveNextInline), where
// the consumer may be called back at the end of the read buffer instead
// of woken now.
func (js *JetStream) apiNext(reply, streamName, name string, data []byte, sender protocol.Sender, onReader bool) {
	var c *consumer
	if st := js.lookup(streamName); st != nil {
		c = st.consumer(name)
	}
	if c == nil {
		// Nobody serves this consumer's requests.
		js.bus.Publish(reply, "", protocol.NoRespondersHeader(nil, []byte(apiPrefix+"CONSUMER.MSG.NEXT."+streamName+"."+name)), nil)
		return
	}
	if reply == "" || systemSubject(reply) {
		return // nowhere a delivery may go
	}
	r, err := parsePullRequest(reply, data)
	if err != nil {
		h := protocol.AppendHeaderEnd(protocol.AppendHeaderStart(nil, protocol.StatusBadRequest, "Bad Request"))
		js.bus.Publish(reply, "", h, nil)
		return
	}
	r.sender = sender
	c.in.addRequest(r, !onReader || !c.deferToReadEnd(sender))
}

// restoreConsumers loads the stream's durable consumers from disk. It runs
// before the stream starts.
func (st *stream) restoreConsumers() error {
	root := filepath.Join(st.dir, "consumers")
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, consumerMetaFile))
		if errors.Is(err, os.ErrNotExist) {
			// A consumer whose creation did not finish.
			store.RemoveAll(dir)
			continue
		}
		if err != nil {
			return err
		}
		var meta consumerMeta
		if err := json.Unmarshal(b, &meta); err != nil {
			return fmt.Errorf("consumer %q: decode %s: %w", e.Name(), consumerMetaFile, err)
		}
		c := newConsumer(st, meta.Config, meta.Created, dir)
		c.owner = meta.Owner
		if err := c.loadState(); err != nil {
			return fmt.Errorf("consumer %q: %w", e.Name(), err)
		}
		c.resume()
		st.consumers[c.name] = c
	}
	for _, c := range st.consumers {
		c.start()
	}
	return nil
}

// resume rearms what a restored consumer had pending: each message is
// redelivered after a fresh ack wait.
func (c *consumer) resume() {
	now := time.Now().UnixNano()
	for seq, p := range c.pending {
		c.setDeadline(seq, p, now+int64(c.cfg.ackWaitFor(p.deliveries)))
	}
	if c.lpsEnd > 0 && c.sseq <= c.lpsEnd {
		c.lps = c.st.lastPerSubject(c.filters, c.lpsEnd)
	} else {
		c.lpsEnd = 0
	}
	c.counted = c.sseq - 1
}
