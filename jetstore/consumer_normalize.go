package jetstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// maxFilterSubjects bounds filter_subjects: they are checked against each
// other pairwise on the API goroutine.
const maxFilterSubjects = 1000

// normalizeConsumer fills in defaults and checks a consumer configuration
// against its stream's, concern by concern, in the order clients see the
// errors: identity and unsupported features, where delivery starts and how
// it is paced, acks, the pull or push mode, filters, then lifetime and the
// rules of work-queue streams.
func normalizeConsumer(in ConsumerConfig, scfg StreamConfig) (ConsumerConfig, *APIError) {
	c := in
	for _, step := range []func(c *ConsumerConfig, scfg *StreamConfig) *APIError{
		normalizeIdentity,
		normalizeDelivery,
		normalizeAcks,
		normalizeMode,
		normalizeFilters,
		normalizeLifetime,
	} {
		if e := step(&c, &scfg); e != nil {
			return c, e
		}
	}
	return c, nil
}

// normalizeIdentity checks the names, refuses features this server does
// not offer, and replicas beyond one.
func normalizeIdentity(c *ConsumerConfig, _ *StreamConfig) *APIError {
	if c.Durable != "" && c.Name != "" && c.Durable != c.Name {
		return errConsumerNameDurable()
	}
	if c.Name == "" {
		c.Name = c.Durable
	}
	if c.Name != "" && !validName(c.Name) {
		if strings.ContainsAny(c.Name, "/\\") {
			return errConsumerNamePath()
		}
		return errConsumerNameChars()
	}
	switch {
	case c.Direct:
		return errConsumerConfig("direct consumers are not supported by this server")
	case c.PauseUntil != nil && !c.PauseUntil.IsZero():
		return errConsumerConfig("paused consumers are not supported by this server")
	case c.PriorityPolicy != "" && c.PriorityPolicy != "none" || len(c.PriorityGroups) > 0:
		return errConsumerConfig("priority groups are not supported by this server")
	case c.RateLimit > 0:
		return errConsumerConfig("rate limits are not supported by this server")
	case c.SampleFrequency != "":
		return errConsumerConfig("ack sampling is not supported by this server")
	}
	if c.Replicas < 0 {
		return errConsumerReplicasNegative()
	}
	if c.Replicas > 1 {
		return errConsumerReplicas()
	}
	return nil
}

// normalizeDelivery checks where delivery starts: the deliver policy and
// the start sequence or time it needs, and none it does not.
func normalizeDelivery(c *ConsumerConfig, _ *StreamConfig) *APIError {
	switch c.DeliverPolicy {
	case "":
		c.DeliverPolicy = DeliverAll
	case DeliverAll, DeliverLast, DeliverNew, DeliverByStartSeq, DeliverByStartTime, DeliverLastPerSubject:
	default:
		return errConsumerPolicy("deliver policy %q is not valid", c.DeliverPolicy)
	}
	switch c.DeliverPolicy {
	case DeliverByStartSeq:
		if c.OptStartSeq == 0 {
			return errConsumerPolicy("consumer delivery policy is deliver by start sequence, but optional start sequence is not set")
		}
		if c.OptStartTime != nil {
			return errConsumerPolicy("consumer delivery policy is deliver by start sequence, but optional start time is also set")
		}
	case DeliverByStartTime:
		if c.OptStartTime == nil {
			return errConsumerPolicy("consumer delivery policy is deliver by start time, but optional start time is not set")
		}
		if c.OptStartSeq != 0 {
			return errConsumerPolicy("consumer delivery policy is deliver by start time, but optional start sequence is also set")
		}
	default:
		if c.OptStartSeq != 0 {
			return errConsumerPolicy("consumer delivery policy is %s, but optional start sequence is also set", c.DeliverPolicy)
		}
		if c.OptStartTime != nil {
			return errConsumerPolicy("consumer delivery policy is %s, but optional start time is also set", c.DeliverPolicy)
		}
	}
	return nil
}

// normalizeAcks checks the ack policy and the replay policy (in that
// order, as clients see their errors), then what governs redelivery: ack
// wait, backoff, max deliver and max ack pending.
func normalizeAcks(c *ConsumerConfig, _ *StreamConfig) *APIError {
	switch c.AckPolicy {
	case "":
		c.AckPolicy = AckNone
	case AckNone, AckAll, AckExplicit:
	default:
		return errConsumerAckPolicy()
	}
	switch c.ReplayPolicy {
	case "":
		c.ReplayPolicy = ReplayInstant
	case ReplayInstant, ReplayOriginal:
	default:
		return errConsumerReplayPolicy()
	}

	if c.AckWait < 0 {
		return errConsumerAckWait()
	}
	for _, b := range c.BackOff {
		if b <= 0 {
			return errConsumerBackoff()
		}
	}
	if c.MaxDeliver == 0 || c.MaxDeliver < -1 {
		c.MaxDeliver = -1
	}
	if len(c.BackOff) > 0 && c.MaxDeliver != -1 && c.MaxDeliver <= len(c.BackOff) {
		return errConsumerMaxDeliverBackoff()
	}
	if c.AckWait == 0 {
		c.AckWait = defaultAckWait
		if len(c.BackOff) > 0 {
			c.AckWait = c.BackOff[0]
		}
	}

	if c.AckPolicy == AckNone {
		if c.MaxAckPending > 0 {
			return errConsumerMaxAckPendingAckNone()
		}
		c.MaxAckPending = 0
		return nil
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = defaultMaxAckPending
	}
	if c.MaxAckPending < 0 || c.MaxAckPending > maxAckPendingLimit {
		return errConsumerMaxAckPending()
	}
	return nil
}

// normalizeMode checks the settings of a pull or a push consumer, and
// refuses those of the other mode.
func normalizeMode(c *ConsumerConfig, scfg *StreamConfig) *APIError {
	if c.isPull() {
		return normalizePull(c)
	}
	return normalizePush(c, scfg)
}

// normalizePull checks a pull consumer: waiting requests and the bounds
// of one request.
func normalizePull(c *ConsumerConfig) *APIError {
	if c.DeliverGroup != "" {
		return errConsumerConfig("consumer deliver group requires a push based consumer")
	}
	if c.FlowControl {
		return errConsumerPullFlowControl()
	}
	if c.Heartbeat > 0 {
		return errConsumerPullHeartbeat()
	}
	if c.MaxWaiting < 0 {
		return errConsumerMaxWaiting()
	}
	if c.MaxWaiting == 0 {
		c.MaxWaiting = defaultMaxWaiting
	}
	if c.MaxWaiting > maxWaitingLimit {
		c.MaxWaiting = maxWaitingLimit
	}
	if c.MaxRequestBatch < 0 {
		return errConsumerMaxRequestBatch()
	}
	if c.MaxRequestExpires != 0 && c.MaxRequestExpires < time.Millisecond {
		return errConsumerMaxRequestExpires()
	}
	if c.MaxRequestMaxBytes < 0 {
		return errConsumerConfig("consumer max request max bytes needs to be > 0")
	}
	return nil
}

// normalizePush checks a push consumer: its deliver subject (a literal
// outside the system namespaces and the stream's own subjects), deliver
// group, heartbeats and flow control.
func normalizePush(c *ConsumerConfig, scfg *StreamConfig) *APIError {
	if c.MaxWaiting != 0 {
		return errConsumerPushMaxWaiting()
	}
	if c.MaxRequestBatch != 0 || c.MaxRequestExpires != 0 || c.MaxRequestMaxBytes != 0 {
		return errConsumerConfig("consumer in push mode can not set pull request limits")
	}
	if protocol.IsFilter(c.DeliverSubject) {
		return errConsumerDeliverWildcards()
	}
	if !protocol.ValidLiteral(c.DeliverSubject) || systemSubject(c.DeliverSubject) {
		return errConsumerDeliverSubject()
	}
	for _, s := range scfg.Subjects {
		if protocol.MatchLiteral(c.DeliverSubject, s) {
			return errConsumerDeliverCycle()
		}
	}
	if c.DeliverGroup != "" && !protocol.ValidFilter(c.DeliverGroup) {
		return errConsumerConfig("consumer deliver group is not valid")
	}
	if c.Heartbeat > 0 && c.Heartbeat < minIdleHeartbeat {
		return errConsumerHeartbeatMin()
	}
	if c.FlowControl && c.Heartbeat == 0 {
		return errConsumerFlowControlHeartbeat()
	}
	return nil
}

// normalizeFilters checks the subject filters: one form or the other, at
// most maxFilterSubjects, each valid, none overlapping another, each
// overlapping the stream's subjects. A single filter_subjects entry
// becomes filter_subject.
func normalizeFilters(c *ConsumerConfig, scfg *StreamConfig) *APIError {
	if c.FilterSubject != "" && len(c.FilterSubjects) > 0 {
		return errConsumerBothFilters()
	}
	if len(c.FilterSubjects) > maxFilterSubjects {
		return errBadRequest(fmt.Sprintf("a consumer takes at most %d filter subjects", maxFilterSubjects))
	}
	if len(c.FilterSubjects) == 1 {
		c.FilterSubject, c.FilterSubjects = c.FilterSubjects[0], nil
	}
	fs := c.filters()
	for i, f := range fs {
		if f == "" {
			return errConsumerEmptyFilter()
		}
		if !protocol.ValidFilter(f) {
			return errConsumerConfig("consumer filter subject %q is not a valid subject", f)
		}
		for _, o := range fs[:i] {
			if protocol.Overlap(o, f) {
				return errConsumerFiltersOverlap()
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
			return errConsumerFilterOutside()
		}
	}
	return nil
}

// normalizeLifetime sets how long an unused consumer lives and where its
// state is kept, and applies the rules of work-queue streams.
func normalizeLifetime(c *ConsumerConfig, scfg *StreamConfig) *APIError {
	if c.InactiveThreshold < 0 {
		return errConsumerConfig("consumer inactive threshold needs to be positive")
	}
	if !c.durable() && c.InactiveThreshold == 0 {
		c.InactiveThreshold = defaultEphemeralInactive
	}
	if scfg.Storage == StorageMemory {
		c.MemoryStorage = true
	}
	if scfg.Retention == RetentionWorkQueue {
		if c.AckPolicy != AckExplicit {
			return errWQExplicitAck()
		}
		if c.DeliverPolicy != DeliverAll {
			return errWQDeliverAll()
		}
	}
	return nil
}
