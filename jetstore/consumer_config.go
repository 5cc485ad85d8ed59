package jetstore

import (
	"maps"
	"slices"
	"strings"
	"time"
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
	// DeliveryDenied, a Wren addition, says why a push consumer delivers
	// nothing: the user who created or last updated it may no longer have
	// the server publish to its deliver subject.
	DeliveryDenied string    `json:"delivery_denied,omitempty"`
	TS             time.Time `json:"ts"`
	Error          *APIError `json:"error,omitempty"`
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
		maps.Equal(a.Metadata, b.Metadata)
}

// systemSubject reports whether s is in a namespace the stream layer
// serves itself (the API, acks, flow control, advisories, replays).
// Deliveries never go there: the stream layer would act on its own
// messages.
func systemSubject(s string) bool {
	return strings.HasPrefix(s, "$JS.") || strings.HasPrefix(s, "$WREN.")
}
