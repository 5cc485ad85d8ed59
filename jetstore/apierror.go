package jetstore

import (
	"fmt"
	"strings"
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

func apiErr(code int, errCode uint16, desc string) *APIError {
	return &APIError{Code: code, ErrCode: errCode, Description: desc}
}

// The JetStream error codes Wren returns; codes and texts are the ones NATS
// clients know.
func errBadRequest(detail string) *APIError {
	if detail == "" {
		return apiErr(400, 10003, "bad request")
	}
	return apiErr(400, 10003, "bad request: "+detail)
}
func errInvalidJSON(err error) *APIError { return apiErr(400, 10025, "invalid JSON: "+err.Error()) }
func errStreamNotFound() *APIError       { return apiErr(404, 10059, "stream not found") }
func errStreamNameExist() *APIError {
	return apiErr(400, 10058, "stream name already in use with a different configuration")
}
func errSubjectOverlap() *APIError {
	return apiErr(400, 10065, "subjects overlap with an existing stream")
}
func errStreamMismatch() *APIError {
	return apiErr(400, 10056, "stream name in subject does not match request")
}
func errStreamConfig(format string, args ...any) *APIError {
	return apiErr(500, 10052, fmt.Sprintf(format, args...))
}
func errReplicas() *APIError {
	return apiErr(500, 10074, "replicas > 1 not supported in non-clustered mode")
}
func errStreamCreate(err error) *APIError { return apiErr(500, 10049, err.Error()) }
func errStreamUpdate(err error) *APIError { return apiErr(500, 10069, err.Error()) }
func errStreamDelete(err error) *APIError { return apiErr(500, 10050, err.Error()) }
func errNoMessage() *APIError             { return apiErr(404, 10037, "no message found") }
func errMsgDelete(err error) *APIError    { return apiErr(500, 10057, err.Error()) }
func errStreamNotMatch() *APIError        { return apiErr(400, 10060, "expected stream does not match") }
func errWrongLastSeq(seq uint64) *APIError {
	return apiErr(400, 10071, fmt.Sprintf("wrong last sequence: %d", seq))
}
func errWrongLastMsgID(id string) *APIError {
	return apiErr(400, 10070, "wrong last msg ID: "+id)
}
func errMsgTooLarge() *APIError {
	return apiErr(400, 10054, "message size exceeds maximum allowed")
}
func errStoreFailed(err error) *APIError { return apiErr(503, 10077, err.Error()) }
func errMaxStreams() *APIError           { return apiErr(400, 10027, "maximum number of streams reached") }
func errStorageExceeded() *APIError {
	return apiErr(500, 10047, "insufficient storage resources available")
}
func errAPIBusy() *APIError {
	return apiErr(503, 10008, "JetStream system temporarily unavailable")
}
func errRequestTooLarge(n, limit int) *APIError {
	return errBadRequest(fmt.Sprintf("request of %d bytes exceeds the limit of %d", n, limit))
}
func errTTLDisabled() *APIError { return apiErr(400, 10166, "per-message TTL is disabled") }
func errTTLInvalid() *APIError  { return apiErr(400, 10165, "invalid per-message TTL") }
func errRollupDisabled() *APIError {
	return apiErr(400, 10052, "rollup not permitted")
}
func errNotEmptyRequest() *APIError { return apiErr(400, 10038, "expected an empty request payload") }
func errUnknownAPI(subject string) *APIError {
	return apiErr(400, 10003, "bad request: unknown API "+strings.TrimPrefix(subject, apiPrefix))
}

// Consumer errors.
func errConsumerNotFound() *APIError { return apiErr(404, 10014, "consumer not found") }
func errConsumerCreate(desc string) *APIError {
	return apiErr(500, 10012, desc)
}
func errConsumerConfig(format string, args ...any) *APIError {
	return apiErr(400, 10012, fmt.Sprintf(format, args...))
}
func errConsumerPolicy(format string, args ...any) *APIError {
	return apiErr(400, 10094, fmt.Sprintf(format, args...))
}
func errConsumerExists() *APIError       { return apiErr(400, 10148, "consumer already exists") }
func errConsumerDoesNotExist() *APIError { return apiErr(400, 10149, "consumer does not exist") }
func errMaxConsumers() *APIError         { return apiErr(400, 10026, "maximum consumers limit reached") }
func errConsumerNameMismatch() *APIError {
	return apiErr(400, 10017, "consumer name in subject does not match durable name in request")
}
func errConsumerFilterMismatch() *APIError {
	return apiErr(400, 10131, "Consumer create request did not match filtered subject from create subject")
}
func errConsumerMultipleFilters() *APIError {
	return apiErr(400, 10137, "consumer with multiple subject filters cannot use subject based API")
}
func errWQMultipleUnfiltered() *APIError {
	return apiErr(400, 10099, "multiple non-filtered consumers not allowed on workqueue stream")
}
func errWQNotUnique() *APIError {
	return apiErr(400, 10100, "filtered consumer not unique on workqueue stream")
}
func errConsumerStore(err error) *APIError {
	return apiErr(500, 10104, "error creating store for consumer: "+err.Error())
}
