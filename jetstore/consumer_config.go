package jetstore

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Deliver policies: where a new consumer starts in its stream.
const (
	DeliverAll            = "all"
	DeliverLast           = "last"
	DeliverNew            = "new"
	DeliverByStartSeq     = "by_start_sequence"
	DeliverByStartTime    = "by_start_time"
	DeliverLastPerSubject = "last_per_subject"
)

// Ack policies.
const (
	AckNone     = "none"
	AckAll      = "all"
	AckExplicit = "explicit"
)

// Replay policies.
const (
	ReplayInstant  = "instant"
	ReplayOriginal = "original"
)

// Consumer defaults, as NATS clients expect them.
const (
	defaultAckWait           = 30 * time.Second
	defaultMaxWaiting        = 512
	defaultMaxAckPending     = 1000
	defaultEphemeralInactive = 5 * time.Second
	minIdleHeartbeat         = 100 * time.Millisecond
	// maxAckPendingLimit bounds max_ack_pending, and so the in-flight
	// deliveries a consumer tracks.
	maxAckPendingLimit = 1 << 20
	// maxWaitingLimit bounds the pull requests one consumer holds.
	maxWaitingLimit = 1 << 16
)

// ConsumerConfig is a consumer's configuration, in the JetStream API's JSON.
// Durations are integer nanoseconds.
type ConsumerConfig struct {
	Durable            string            `json:"durable_name,omitempty"`
	Name               string            `json:"name,omitempty"`
	Description        string            `json:"description,omitempty"`
	DeliverPolicy      string            `json:"deliver_policy"`
	OptStartSeq        uint64            `json:"opt_start_seq,omitempty"`
	OptStartTime       *time.Time        `json:"opt_start_time,omitempty"`
	AckPolicy          string            `json:"ack_policy"`
	AckWait            time.Duration     `json:"ack_wait,omitempty"`
	MaxDeliver         int               `json:"max_deliver,omitempty"`
	BackOff            []time.Duration   `json:"backoff,omitempty"`
	FilterSubject      string            `json:"filter_subject,omitempty"`
	FilterSubjects     []string          `json:"filter_subjects,omitempty"`
	ReplayPolicy       string            `json:"replay_policy"`
	RateLimit          uint64            `json:"rate_limit_bps,omitempty"`
	SampleFrequency    string            `json:"sample_freq,omitempty"`
	MaxWaiting         int               `json:"max_waiting,omitempty"`
	MaxAckPending      int               `json:"max_ack_pending,omitempty"`
	HeadersOnly        bool              `json:"headers_only,omitempty"`
	MaxRequestBatch    int               `json:"max_batch,omitempty"`
	MaxRequestExpires  time.Duration     `json:"max_expires,omitempty"`
	MaxRequestMaxBytes int               `json:"max_bytes,omitempty"`
	DeliverSubject     string            `json:"deliver_subject,omitempty"`
	DeliverGroup       string            `json:"deliver_group,omitempty"`
	FlowControl        bool              `json:"flow_control,omitempty"`
	Heartbeat          time.Duration     `json:"idle_heartbeat,omitempty"`
	InactiveThreshold  time.Duration     `json:"inactive_threshold,omitempty"`
	Replicas           int               `json:"num_replicas"`
	MemoryStorage      bool              `json:"mem_storage,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`

	// Features Wren does not implement, decoded only to refuse them.
	Direct         bool       `json:"direct,omitempty"`
	PauseUntil     *time.Time `json:"pause_until,omitempty"`
	PriorityPolicy string     `json:"priority_policy,omitempty"`
	PriorityGroups []string   `json:"priority_groups,omitempty"`
}

// SequenceInfo is a consumer and stream sequence pair.
type SequenceInfo struct {
	Consumer uint64     `json:"consumer_seq"`
	Stream   uint64     `json:"stream_seq"`
	Last     *time.Time `json:"last_active,omitempty"`
}

// ConsumerInfo is what CONSUMER.CREATE, INFO and LIST return.
type ConsumerInfo struct {
	Type           string         `json:"type,omitempty"`
	Stream         string         `json:"stream_name"`
	Name           string         `json:"name"`
	Created        time.Time      `json:"created"`
	Config         ConsumerConfig `json:"config"`
	Delivered      SequenceInfo   `json:"delivered"`
	AckFloor       SequenceInfo   `json:"ack_floor"`
	NumAckPending  int            `json:"num_ack_pending"`
	NumRedelivered int            `json:"num_redelivered"`
	NumWaiting     int            `json:"num_waiting"`
	NumPending     uint64         `json:"num_pending"`
	PushBound      bool           `json:"push_bound,omitempty"`
	TS             time.Time      `json:"ts"`
	Error          *APIError      `json:"error,omitempty"`
}

// consumerCreateRequest is the body of CONSUMER.CREATE.
type consumerCreateRequest struct {
	Stream string          `json:"stream_name"`
	Config *ConsumerConfig `json:"config"`
	Action string          `json:"action"`
}

// The consumer create actions.
const (
	actionCreateOrUpdate = ""
	actionCreate         = "create"
	actionUpdate         = "update"
)

// isPull reports whether the consumer is pulled from (no deliver subject).
func (c *ConsumerConfig) isPull() bool { return c.DeliverSubject == "" }

// durable reports whether the consumer outlives its clients.
func (c *ConsumerConfig) durable() bool { return c.Durable != "" }

// filters returns the consumer's subject filters; nil means every subject.
func (c *ConsumerConfig) filters() []string {
	if c.FilterSubject != "" {
		return []string{c.FilterSubject}
	}
	return c.FilterSubjects
}

// ackWaitFor returns how long delivery number n (1-based) waits for its
// ack: the backoff schedule when there is one, else ack_wait.
func (c *ConsumerConfig) ackWaitFor(n uint64) time.Duration {
	if len(c.BackOff) == 0 {
		return c.AckWait
	}
	i := int(min(n, uint64(len(c.BackOff)))) - 1
	return c.BackOff[max(i, 0)]
}

// maxFilterSubjects bounds filter_subjects: they are checked against each
// other pairwise on the API goroutine.
const maxFilterSubjects = 1000

// normalizeConsumer fills in defaults and checks a consumer configuration
// against its stream's. name is the consumer's name from the API subject.
func normalizeConsumer(in ConsumerConfig, scfg StreamConfig) (ConsumerConfig, *APIError) {
	c := in
	if c.Durable != "" && c.Name != "" && c.Durable != c.Name {
		return c, apiErr(400, 10132, "Consumer Durable and Name have to be equal if both are provided")
	}
	if c.Name == "" {
		c.Name = c.Durable
	}
	if c.Name != "" && !validName(c.Name) {
		if containsAny(c.Name, "/\\") {
			return c, apiErr(400, 10127, "Consumer name can not contain path separators")
		}
		return c, apiErr(400, 10103, "durable name can not contain '.', '*', '>'")
	}
	switch {
	case c.Direct:
		return c, errConsumerConfig("direct consumers are not supported by this server")
	case c.PauseUntil != nil && !c.PauseUntil.IsZero():
		return c, errConsumerConfig("paused consumers are not supported by this server")
	case c.PriorityPolicy != "" && c.PriorityPolicy != "none" || len(c.PriorityGroups) > 0:
		return c, errConsumerConfig("priority groups are not supported by this server")
	case c.RateLimit > 0:
		return c, errConsumerConfig("rate limits are not supported by this server")
	case c.SampleFrequency != "":
		return c, errConsumerConfig("ack sampling is not supported by this server")
	}
	if c.Replicas < 0 {
		return c, apiErr(400, 10133, "replicas count cannot be negative")
	}
	if c.Replicas > 1 {
		return c, apiErr(400, 10126, "consumer config replica count exceeds parent stream")
	}

	switch c.DeliverPolicy {
	case "":
		c.DeliverPolicy = DeliverAll
	case DeliverAll, DeliverLast, DeliverNew, DeliverByStartSeq, DeliverByStartTime, DeliverLastPerSubject:
	default:
		return c, errConsumerPolicy("deliver policy %q is not valid", c.DeliverPolicy)
	}
	switch c.DeliverPolicy {
	case DeliverByStartSeq:
		if c.OptStartSeq == 0 {
			return c, errConsumerPolicy("consumer delivery policy is deliver by start sequence, but optional start sequence is not set")
		}
		if c.OptStartTime != nil {
			return c, errConsumerPolicy("consumer delivery policy is deliver by start sequence, but optional start time is also set")
		}
	case DeliverByStartTime:
		if c.OptStartTime == nil {
			return c, errConsumerPolicy("consumer delivery policy is deliver by start time, but optional start time is not set")
		}
		if c.OptStartSeq != 0 {
			return c, errConsumerPolicy("consumer delivery policy is deliver by start time, but optional start sequence is also set")
		}
	default:
		if c.OptStartSeq != 0 {
			return c, errConsumerPolicy("consumer delivery policy is %s, but optional start sequence is also set", c.DeliverPolicy)
		}
		if c.OptStartTime != nil {
			return c, errConsumerPolicy("consumer delivery policy is %s, but optional start time is also set", c.DeliverPolicy)
		}
	}

	switch c.AckPolicy {
	case "":
		c.AckPolicy = AckNone
	case AckNone, AckAll, AckExplicit:
	default:
		return c, apiErr(400, 10181, "consumer ack policy invalid")
	}
	switch c.ReplayPolicy {
	case "":
		c.ReplayPolicy = ReplayInstant
	case ReplayInstant, ReplayOriginal:
	default:
		return c, apiErr(400, 10182, "consumer replay policy invalid")
	}

	if c.AckWait < 0 {
		return c, apiErr(400, 10183, "consumer ack wait needs to be positive")
	}
	for _, b := range c.BackOff {
		if b <= 0 {
			return c, apiErr(400, 10184, "consumer backoff needs to be positive")
		}
	}
	if c.MaxDeliver == 0 || c.MaxDeliver < -1 {
		c.MaxDeliver = -1
	}
	if len(c.BackOff) > 0 && c.MaxDeliver != -1 && c.MaxDeliver <= len(c.BackOff) {
		return c, apiErr(400, 10116, "max deliver is required to be > length of backoff values")
	}
	if c.AckWait == 0 {
		c.AckWait = defaultAckWait
		if len(c.BackOff) > 0 {
			c.AckWait = c.BackOff[0]
		}
	}

	if c.AckPolicy == AckNone {
		if c.MaxAckPending > 0 {
			return c, apiErr(400, 10082, "consumer requires ack policy for max ack pending")
		}
		c.MaxAckPending = 0
	} else {
		if c.MaxAckPending == 0 {
			c.MaxAckPending = defaultMaxAckPending
		}
		if c.MaxAckPending < 0 || c.MaxAckPending > maxAckPendingLimit {
			return c, apiErr(400, 10121, fmt.Sprintf("consumer max ack pending exceeds system limit of %d", maxAckPendingLimit))
		}
	}

	if c.isPull() {
		if c.DeliverGroup != "" {
			return c, errConsumerConfig("consumer deliver group requires a push based consumer")
		}
		if c.FlowControl {
			return c, apiErr(400, 10089, "consumer flow control requires a push based consumer")
		}
		if c.Heartbeat > 0 {
			return c, apiErr(400, 10088, "consumer idle heartbeat requires a push based consumer")
		}
		if c.MaxWaiting < 0 {
			return c, apiErr(400, 10087, "consumer max waiting needs to be positive")
		}
		if c.MaxWaiting == 0 {
			c.MaxWaiting = defaultMaxWaiting
		}
		if c.MaxWaiting > maxWaitingLimit {
			c.MaxWaiting = maxWaitingLimit
		}
		if c.MaxRequestBatch < 0 {
			return c, apiErr(400, 10114, "consumer max request batch needs to be > 0")
		}
		if c.MaxRequestExpires != 0 && c.MaxRequestExpires < time.Millisecond {
			return c, apiErr(400, 10115, "consumer max request expires needs to be >= 1ms")
		}
		if c.MaxRequestMaxBytes < 0 {
			return c, errConsumerConfig("consumer max request max bytes needs to be > 0")
		}
	} else {
		if c.MaxWaiting != 0 {
			return c, apiErr(400, 10080, "consumer in push mode can not set max waiting")
		}
		if c.MaxRequestBatch != 0 || c.MaxRequestExpires != 0 || c.MaxRequestMaxBytes != 0 {
			return c, errConsumerConfig("consumer in push mode can not set pull request limits")
		}
		if protocol.IsFilter(c.DeliverSubject) {
			return c, apiErr(400, 10079, "consumer deliver subject has wildcards")
		}
		if !protocol.ValidLiteral(c.DeliverSubject) || systemSubject(c.DeliverSubject) {
			return c, apiErr(400, 10112, "invalid push consumer deliver subject")
		}
		for _, s := range scfg.Subjects {
			if protocol.MatchLiteral(c.DeliverSubject, s) {
				return c, apiErr(400, 10081, "consumer deliver subject forms a cycle")
			}
		}
		if c.DeliverGroup != "" && !protocol.ValidFilter(c.DeliverGroup) {
			return c, errConsumerConfig("consumer deliver group is not valid")
		}
		if c.Heartbeat > 0 && c.Heartbeat < minIdleHeartbeat {
			return c, apiErr(400, 10083, "consumer idle heartbeat needs to be >= 100ms")
		}
		if c.FlowControl && c.Heartbeat == 0 {
			return c, apiErr(400, 10108, "consumer with flow control also needs heartbeats")
		}
	}

	if c.FilterSubject != "" && len(c.FilterSubjects) > 0 {
		return c, apiErr(400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified")
	}
	if len(c.FilterSubjects) > maxFilterSubjects {
		return c, apiErr(400, 10003, fmt.Sprintf("bad request: a consumer takes at most %d filter subjects", maxFilterSubjects))
	}
	if len(c.FilterSubjects) == 1 {
		c.FilterSubject, c.FilterSubjects = c.FilterSubjects[0], nil
	}
	fs := c.filters()
	for i, f := range fs {
		if f == "" {
			return c, apiErr(400, 10139, "consumer filter in FilterSubjects cannot be empty")
		}
		if !protocol.ValidFilter(f) {
			return c, errConsumerConfig("consumer filter subject %q is not a valid subject", f)
		}
		for _, o := range fs[:i] {
			if protocol.Overlap(o, f) {
				return c, apiErr(400, 10138, "consumer subject filters cannot overlap")
			}
		}
		ok := false
		for _, s := range scfg.Subjects {
			if protocol.Overlap(s, f) {
				ok = true
				break
			}
		}
		if !ok {
			return c, apiErr(400, 10093, "consumer filter subject is not a valid subset of the interest subjects")
		}
	}

	if c.InactiveThreshold < 0 {
		return c, errConsumerConfig("consumer inactive threshold needs to be positive")
	}
	if !c.durable() && c.InactiveThreshold == 0 {
		c.InactiveThreshold = defaultEphemeralInactive
	}
	if scfg.Storage == StorageMemory {
		c.MemoryStorage = true
	}

	if scfg.Retention == RetentionWorkQueue {
		if c.AckPolicy != AckExplicit {
			return c, apiErr(400, 10098, "workqueue stream requires explicit ack")
		}
		if c.DeliverPolicy != DeliverAll {
			return c, apiErr(400, 10101, "consumer must be deliver all on workqueue stream")
		}
	}
	return c, nil
}

// checkConsumerUpdate says whether a consumer may move from old to next.
func checkConsumerUpdate(old, next ConsumerConfig) *APIError {
	bad := func(what string) *APIError {
		return errConsumerCreate(what + " can not be updated")
	}
	switch {
	case old.DeliverPolicy != next.DeliverPolicy:
		return bad("deliver policy")
	case old.OptStartSeq != next.OptStartSeq:
		return bad("start sequence")
	case !sameTime(old.OptStartTime, next.OptStartTime):
		return bad("start time")
	case old.AckPolicy != next.AckPolicy:
		return bad("ack policy")
	case old.ReplayPolicy != next.ReplayPolicy:
		return bad("replay policy")
	case old.isPull() != next.isPull():
		return bad("pull or push mode")
	case old.Durable != next.Durable:
		return bad("durable name")
	case old.MemoryStorage != next.MemoryStorage:
		return bad("storage type")
	case old.DeliverGroup != next.DeliverGroup && !old.isPull():
		return bad("deliver group")
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// sameConsumerConfig reports whether two normalized configurations match.
func sameConsumerConfig(a, b ConsumerConfig) bool {
	return a.Name == b.Name && a.Durable == b.Durable && a.Description == b.Description &&
		a.DeliverPolicy == b.DeliverPolicy && a.OptStartSeq == b.OptStartSeq &&
		sameTime(a.OptStartTime, b.OptStartTime) && a.AckPolicy == b.AckPolicy &&
		a.AckWait == b.AckWait && a.MaxDeliver == b.MaxDeliver && slices.Equal(a.BackOff, b.BackOff) &&
		slices.Equal(a.filters(), b.filters()) && a.ReplayPolicy == b.ReplayPolicy &&
		a.MaxWaiting == b.MaxWaiting && a.MaxAckPending == b.MaxAckPending &&
		a.HeadersOnly == b.HeadersOnly && a.MaxRequestBatch == b.MaxRequestBatch &&
		a.MaxRequestExpires == b.MaxRequestExpires && a.MaxRequestMaxBytes == b.MaxRequestMaxBytes &&
		a.DeliverSubject == b.DeliverSubject && a.DeliverGroup == b.DeliverGroup &&
		a.FlowControl == b.FlowControl && a.Heartbeat == b.Heartbeat &&
		a.InactiveThreshold == b.InactiveThreshold && a.MemoryStorage == b.MemoryStorage &&
		mapsEqual(a.Metadata, b.Metadata)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

// systemSubject reports whether s is in a namespace the stream layer
// serves itself (the API, acks, flow control, advisories, replays).
// Deliveries never go there: the stream layer would act on its own
// messages.
func systemSubject(s string) bool {
	return strings.HasPrefix(s, "$JS.") || strings.HasPrefix(s, "$WREN.")
}
