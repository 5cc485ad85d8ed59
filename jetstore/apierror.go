package jetstore

import (
	"fmt"
	"strings"
	"time"
)

// APIError is a JetStream API error: an HTTP-like status code, the
// JetStream error code clients match on, and a description.
type APIError struct {
	Code        int    `json:"code"`
	ErrCode     uint16 `json:"err_code,omitempty"`
	Description string `json:"description,omitempty"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (%d)", e.Description, e.ErrCode)
}

// apiErr is called only here: the functions below are the one table of
// the JetStream errors Wren returns, with the status, code and text NATS
// clients know, so a code is chosen once and reused, never spelled again
// at a call site.
func apiErr(code int, errCode uint16, desc string) *APIError {
	return &APIError{Code: code, ErrCode: errCode, Description: desc}
}

// The API itself.
func errBadRequest(detail string) *APIError {
	if detail == "" {
		return apiErr(400, 10003, "bad request")
	}
	return apiErr(400, 10003, "bad request: "+detail)
}
func errUnknownAPI(subject string) *APIError {
	return apiErr(400, 10003, "bad request: unknown API "+strings.TrimPrefix(subject, apiPrefix))
}
func errInternal() *APIError { return apiErr(500, 10003, "internal error handling the request") }
func errUnavailable() *APIError {
	return apiErr(503, 10008, "JetStream system temporarily unavailable")
}
func errInvalidJSON(err error) *APIError { return apiErr(400, 10025, "invalid JSON: "+err.Error()) }
func errRequestTooLarge(n, limit int) *APIError {
	return errBadRequest(fmt.Sprintf("request of %d bytes exceeds the limit of %d", n, limit))
}

// Streams.
func errMaxStreams() *APIError { return apiErr(400, 10027, "maximum number of streams reached") }
func errStorageExceeded() *APIError {
	return apiErr(500, 10047, "insufficient storage resources available")
}
func errMemoryExceeded() *APIError {
	return apiErr(500, 10028, "insufficient memory resources available")
}
func errStreamCreate(err error) *APIError { return apiErr(500, 10049, err.Error()) }
func errStreamDelete(err error) *APIError { return apiErr(500, 10050, err.Error()) }
func errStreamConfig(format string, args ...any) *APIError {
	return apiErr(500, 10052, fmt.Sprintf(format, args...))
}
func errStreamMismatch() *APIError {
	return apiErr(400, 10056, "stream name in subject does not match request")
}
func errStreamNameExist() *APIError {
	return apiErr(400, 10058, "stream name already in use with a different configuration")
}
func errStreamNotFound() *APIError { return apiErr(404, 10059, "stream not found") }
func errSubjectOverlap() *APIError {
	return apiErr(400, 10065, "subjects overlap with an existing stream")
}
func errStreamUpdate(err error) *APIError { return apiErr(500, 10069, err.Error()) }
func errReplicas() *APIError {
	return apiErr(500, 10074, "replicas > 1 not supported in non-clustered mode")
}
func errPurgeDenied() *APIError          { return apiErr(400, 10083, "stream purge not permitted") }
func errStreamPurge(err error) *APIError { return apiErr(500, 10110, err.Error()) }

// Stored messages.
func errNoMessage() *APIError          { return apiErr(404, 10037, "no message found") }
func errMsgDelete(err error) *APIError { return apiErr(500, 10057, err.Error()) }
func errMsgDeleteDenied() *APIError    { return apiErr(400, 10082, "message delete not permitted") }
func errReplayDeleteDenied() *APIError {
	return apiErr(400, 10082, "message delete not permitted: the dead-letter stream denies deletes; replay with keep")
}

// Publishing.
func errRollupDisabled() *APIError { return apiErr(400, 10052, "rollup not permitted") }
func errMsgTooLarge() *APIError {
	return apiErr(400, 10054, "message size exceeds maximum allowed")
}
func errStreamNotMatch() *APIError { return apiErr(400, 10060, "expected stream does not match") }
func errWrongLastMsgID(id string) *APIError {
	return apiErr(400, 10070, "wrong last msg ID: "+id)
}
func errWrongLastSeq(seq uint64) *APIError {
	return apiErr(400, 10071, fmt.Sprintf("wrong last sequence: %d", seq))
}
func errStoreFailed(err error) *APIError { return apiErr(503, 10077, err.Error()) }

// errStorageWrite is the answer to a publish the store could not write.
func errStorageWrite(cause string) *APIError {
	return apiErr(503, 10077, "storage write failed: "+cause)
}
func errTTLInvalid() *APIError  { return apiErr(400, 10165, "invalid per-message TTL") }
func errTTLDisabled() *APIError { return apiErr(400, 10166, "per-message TTL is disabled") }

// Atomic batch publish.
func errAtomicDisabled() *APIError   { return apiErr(400, 10174, "atomic publish is disabled") }
func errAtomicMissingSeq() *APIError { return apiErr(400, 10175, "atomic publish sequence is missing") }
func errAtomicIncomplete() *APIError { return apiErr(400, 10176, "atomic publish batch is incomplete") }
func errAtomicUnsupportedHeader(h string) *APIError {
	return apiErr(400, 10177, "atomic publish unsupported header used: "+h)
}
func errAtomicBatchID() *APIError { return apiErr(400, 10179, "atomic publish batch ID is invalid") }
func errAtomicTooLarge(limit string) *APIError {
	return apiErr(400, 10199, "atomic publish batch is too large: "+limit)
}
func errAtomicCommit() *APIError { return apiErr(400, 10200, "atomic publish batch commit is invalid") }
func errAtomicDuplicate() *APIError {
	return apiErr(400, 10201, "atomic publish batch contains duplicate message id")
}
func errAtomicInflight() *APIError { return apiErr(429, 10210, "atomic publish too many inflight") }

// Consumers.
func errConsumerCreate(desc string) *APIError { return apiErr(500, 10012, desc) }
func errConsumerConfig(format string, args ...any) *APIError {
	return apiErr(400, 10012, fmt.Sprintf(format, args...))
}
func errConsumerNotFound() *APIError { return apiErr(404, 10014, "consumer not found") }
func errConsumerNameMismatch() *APIError {
	return apiErr(400, 10017, "consumer name in subject does not match durable name in request")
}
func errConsumerEphemeralDurable() *APIError {
	return apiErr(400, 10020, "consumer expected to be ephemeral but a durable name was set in request")
}
func errMaxConsumers() *APIError           { return apiErr(400, 10026, "maximum consumers limit reached") }
func errConsumerConfigRequired() *APIError { return apiErr(400, 10078, "consumer config required") }
func errConsumerPolicy(format string, args ...any) *APIError {
	return apiErr(400, 10094, fmt.Sprintf(format, args...))
}
func errConsumerStore(err error) *APIError {
	return apiErr(500, 10104, "error creating store for consumer: "+err.Error())
}
func errConsumerFilterMismatch() *APIError {
	return apiErr(400, 10131, "Consumer create request did not match filtered subject from create subject")
}
func errConsumerMultipleFilters() *APIError {
	return apiErr(400, 10137, "consumer with multiple subject filters cannot use subject based API")
}
func errConsumerExists() *APIError       { return apiErr(400, 10148, "consumer already exists") }
func errConsumerDoesNotExist() *APIError { return apiErr(400, 10149, "consumer does not exist") }

// Consumer configurations (consumer_normalize.go).
func errConsumerPushMaxWaiting() *APIError {
	return apiErr(400, 10080, "consumer in push mode can not set max waiting")
}
func errConsumerDeliverWildcards() *APIError {
	return apiErr(400, 10079, "consumer deliver subject has wildcards")
}
func errConsumerDeliverCycle() *APIError {
	return apiErr(400, 10081, "consumer deliver subject forms a cycle")
}
func errConsumerMaxAckPendingAckNone() *APIError {
	return apiErr(400, 10082, "consumer requires ack policy for max ack pending")
}
func errConsumerHeartbeatMin() *APIError {
	return apiErr(400, 10083, "consumer idle heartbeat needs to be >= 100ms")
}
func errConsumerMaxWaiting() *APIError {
	return apiErr(400, 10087, "consumer max waiting needs to be positive")
}
func errConsumerPullHeartbeat() *APIError {
	return apiErr(400, 10088, "consumer idle heartbeat requires a push based consumer")
}
func errConsumerPullFlowControl() *APIError {
	return apiErr(400, 10089, "consumer flow control requires a push based consumer")
}
func errConsumerFilterOutside() *APIError {
	return apiErr(400, 10093, "consumer filter subject is not a valid subset of the interest subjects")
}
func errWQExplicitAck() *APIError {
	return apiErr(400, 10098, "workqueue stream requires explicit ack")
}
func errWQMultipleUnfiltered() *APIError {
	return apiErr(400, 10099, "multiple non-filtered consumers not allowed on workqueue stream")
}
func errWQNotUnique() *APIError {
	return apiErr(400, 10100, "filtered consumer not unique on workqueue stream")
}
func errWQDeliverAll() *APIError {
	return apiErr(400, 10101, "consumer must be deliver all on workqueue stream")
}
func errConsumerNameChars() *APIError {
	return apiErr(400, 10103, "durable name can not contain '.', '*', '>'")
}
func errConsumerFlowControlHeartbeat() *APIError {
	return apiErr(400, 10108, "consumer with flow control also needs heartbeats")
}
func errConsumerDeliverSubject() *APIError {
	return apiErr(400, 10112, "invalid push consumer deliver subject")
}
func errConsumerMaxRequestBatch() *APIError {
	return apiErr(400, 10114, "consumer max request batch needs to be > 0")
}
func errConsumerMaxRequestExpires() *APIError {
	return apiErr(400, 10115, "consumer max request expires needs to be >= 1ms")
}
func errConsumerMaxDeliverBackoff() *APIError {
	return apiErr(400, 10116, "max deliver is required to be > length of backoff values")
}
func errConsumerMaxAckPending() *APIError { return errAckPendingExcess(maxAckPendingLimit) }
func errAckPendingExcess(limit int) *APIError {
	return apiErr(400, 10121, fmt.Sprintf("consumer max ack pending exceeds system limit of %d", limit))
}
func errInactiveExcess(limit time.Duration) *APIError {
	return apiErr(400, 10153, fmt.Sprintf("consumer inactive threshold exceeds system limit of %v", limit))
}
func errConsumerReplicas() *APIError {
	return apiErr(400, 10126, "consumer config replica count exceeds parent stream")
}
func errConsumerNamePath() *APIError {
	return apiErr(400, 10127, "Consumer name can not contain path separators")
}
func errConsumerNameDurable() *APIError {
	return apiErr(400, 10132, "Consumer Durable and Name have to be equal if both are provided")
}
func errConsumerReplicasNegative() *APIError {
	return apiErr(400, 10133, "replicas count cannot be negative")
}
func errConsumerBothFilters() *APIError {
	return apiErr(400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified")
}
func errConsumerFiltersOverlap() *APIError {
	return apiErr(400, 10138, "consumer subject filters cannot overlap")
}
func errConsumerEmptyFilter() *APIError {
	return apiErr(400, 10139, "consumer filter in FilterSubjects cannot be empty")
}
func errConsumerAckPolicy() *APIError    { return apiErr(400, 10181, "consumer ack policy invalid") }
func errConsumerReplayPolicy() *APIError { return apiErr(400, 10182, "consumer replay policy invalid") }
func errConsumerAckWait() *APIError {
	return apiErr(400, 10183, "consumer ack wait needs to be positive")
}
func errConsumerBackoff() *APIError {
	return apiErr(400, 10184, "consumer backoff needs to be positive")
}

// Dead letters.
func errReplayRunning() *APIError { return apiErr(503, 10008, "a replay is already running") }
