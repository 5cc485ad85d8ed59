package jetstore

import (
	"encoding/json"
	"time"
)

// The JSON shapes of the JetStream API, as NATS clients send and expect
// them. Durations are integer nanoseconds.

// Retention policies.
const (
	RetentionLimits    = "limits"
	RetentionInterest  = "interest"
	RetentionWorkQueue = "workqueue"
)

// Discard policies.
const (
	DiscardOld = "old"
	DiscardNew = "new"
)

// Storage types.
const (
	StorageFile   = "file"
	StorageMemory = "memory"
)

// Compression choices.
const (
	CompressionNone = "none"
	CompressionS2   = "s2"
)

// StreamConfig is a stream's configuration.
type StreamConfig struct {
	Name                 string            `json:"name"`
	Description          string            `json:"description,omitempty"`
	Subjects             []string          `json:"subjects,omitempty"`
	Retention            string            `json:"retention"`
	MaxConsumers         int               `json:"max_consumers"`
	MaxMsgs              int64             `json:"max_msgs"`
	MaxBytes             int64             `json:"max_bytes"`
	Discard              string            `json:"discard"`
	DiscardNewPerSubject bool              `json:"discard_new_per_subject,omitempty"`
	MaxAge               time.Duration     `json:"max_age"`
	MaxMsgsPerSubject    int64             `json:"max_msgs_per_subject"`
	MaxMsgSize           int32             `json:"max_msg_size"`
	Storage              string            `json:"storage"`
	Replicas             int               `json:"num_replicas"`
	NoAck                bool              `json:"no_ack,omitempty"`
	Duplicates           time.Duration     `json:"duplicate_window,omitempty"`
	Sealed               bool              `json:"sealed,omitempty"`
	DenyDelete           bool              `json:"deny_delete,omitempty"`
	DenyPurge            bool              `json:"deny_purge,omitempty"`
	AllowRollup          bool              `json:"allow_rollup_hdrs,omitempty"`
	AllowDirect          bool              `json:"allow_direct"`
	MirrorDirect         bool              `json:"mirror_direct,omitempty"`
	Compression          string            `json:"compression,omitempty"`
	FirstSeq             uint64            `json:"first_seq,omitempty"`
	AllowMsgTTL          bool              `json:"allow_msg_ttl,omitempty"`
	AllowAtomic          bool              `json:"allow_atomic,omitempty"`
	Metadata             map[string]string `json:"metadata,omitempty"`
	// DeadLetter names the stream that receives messages a consumer gave up
	// on (max deliveries reached or terminated), with headers saying why.
	DeadLetter string `json:"dead_letter_stream,omitempty"`

	// Features Wren does not implement. They are decoded only so that a
	// request using them is refused with a clear error instead of being
	// silently ignored.
	Mirror           json.RawMessage `json:"mirror,omitempty"`
	Sources          json.RawMessage `json:"sources,omitempty"`
	RePublish        json.RawMessage `json:"republish,omitempty"`
	SubjectTransform json.RawMessage `json:"subject_transform,omitempty"`
	Placement        json.RawMessage `json:"placement,omitempty"`
	ConsumerLimits   json.RawMessage `json:"consumer_limits,omitempty"`
}

// StreamState is a stream's contents at one moment.
type StreamState struct {
	Msgs        uint64            `json:"messages"`
	Bytes       uint64            `json:"bytes"`
	FirstSeq    uint64            `json:"first_seq"`
	FirstTime   time.Time         `json:"first_ts"`
	LastSeq     uint64            `json:"last_seq"`
	LastTime    time.Time         `json:"last_ts"`
	NumDeleted  int               `json:"num_deleted,omitempty"`
	Deleted     []uint64          `json:"deleted,omitempty"`
	NumSubjects int               `json:"num_subjects,omitempty"`
	Subjects    map[string]uint64 `json:"subjects,omitempty"`
	Consumers   int               `json:"consumer_count"`
}

// StreamInfo is what STREAM.INFO, CREATE and UPDATE return.
type StreamInfo struct {
	Type    string       `json:"type,omitempty"`
	Config  StreamConfig `json:"config"`
	Created time.Time    `json:"created"`
	State   StreamState  `json:"state"`
	TS      time.Time    `json:"ts"`
	Total   int          `json:"total,omitempty"`
	Offset  int          `json:"offset,omitempty"`
	Limit   int          `json:"limit,omitempty"`
	Error   *APIError    `json:"error,omitempty"`
}

// PubAck acknowledges a message stored in a stream.
type PubAck struct {
	Stream    string    `json:"stream"`
	Seq       uint64    `json:"seq"`
	Duplicate bool      `json:"duplicate,omitempty"`
	Domain    string    `json:"domain,omitempty"`
	Error     *APIError `json:"error,omitempty"`
}

// apiResponse is the envelope of responses that carry only an error or a
// success flag.
type apiResponse struct {
	Type    string    `json:"type,omitempty"`
	Error   *APIError `json:"error,omitempty"`
	Success bool      `json:"success,omitempty"`
}

type streamInfoRequest struct {
	DeletedDetails bool   `json:"deleted_details"`
	SubjectsFilter string `json:"subjects_filter"`
	Offset         int    `json:"offset"`
}

type streamPurgeRequest struct {
	Subject  string `json:"filter,omitempty"`
	Sequence uint64 `json:"seq,omitempty"`
	Keep     uint64 `json:"keep,omitempty"`
}

type streamPurgeResponse struct {
	Type    string    `json:"type,omitempty"`
	Error   *APIError `json:"error,omitempty"`
	Success bool      `json:"success"`
	Purged  uint64    `json:"purged"`
}

type listRequest struct {
	Offset  int    `json:"offset"`
	Subject string `json:"subject,omitempty"`
}

type streamNamesResponse struct {
	Type    string    `json:"type,omitempty"`
	Error   *APIError `json:"error,omitempty"`
	Total   int       `json:"total"`
	Offset  int       `json:"offset"`
	Limit   int       `json:"limit"`
	Streams []string  `json:"streams"`
}

type streamListResponse struct {
	Type    string        `json:"type,omitempty"`
	Error   *APIError     `json:"error,omitempty"`
	Total   int           `json:"total"`
	Offset  int           `json:"offset"`
	Limit   int           `json:"limit"`
	Streams []*StreamInfo `json:"streams"`
	Missing []string      `json:"missing,omitempty"`
}

type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
}

// StoredMsgJSON is a message as STREAM.MSG.GET returns it.
type storedMsgJSON struct {
	Subject  string    `json:"subject"`
	Sequence uint64    `json:"seq"`
	Header   []byte    `json:"hdrs,omitempty"`
	Data     []byte    `json:"data,omitempty"`
	Time     time.Time `json:"time"`
}

type msgGetResponse struct {
	Type    string         `json:"type,omitempty"`
	Error   *APIError      `json:"error,omitempty"`
	Message *storedMsgJSON `json:"message,omitempty"`
}

type msgDeleteRequest struct {
	Seq     uint64 `json:"seq"`
	NoErase bool   `json:"no_erase,omitempty"`
}

// AccountInfo is what the INFO API returns.
type accountInfo struct {
	Type      string        `json:"type,omitempty"`
	Memory    uint64        `json:"memory"`
	Store     uint64        `json:"storage"`
	Streams   int           `json:"streams"`
	Consumers int           `json:"consumers"`
	Limits    accountLimits `json:"limits"`
	API       apiStats      `json:"api"`
	Domain    string        `json:"domain,omitempty"`
	Error     *APIError     `json:"error,omitempty"`
}

type accountLimits struct {
	MaxMemory            int64 `json:"max_memory"`
	MaxStore             int64 `json:"max_storage"`
	MaxStreams           int   `json:"max_streams"`
	MaxConsumers         int   `json:"max_consumers"`
	MaxAckPending        int   `json:"max_ack_pending"`
	MemoryMaxStreamBytes int64 `json:"memory_max_stream_bytes"`
	StoreMaxStreamBytes  int64 `json:"storage_max_stream_bytes"`
	MaxBytesRequired     bool  `json:"max_bytes_required"`
}

// apiLevel is the JetStream API level the server offers; clients check it
// before using a feature. Level 2 (NATS 2.12) brought atomic batch
// publish.
const apiLevel = 2

type apiStats struct {
	Level  int    `json:"level"`
	Total  uint64 `json:"total"`
	Errors uint64 `json:"errors"`
}

// Response type names, as the reference server sends them.
const (
	typeStreamCreate = "io.nats.jetstream.api.v1.stream_create_response"
	typeStreamUpdate = "io.nats.jetstream.api.v1.stream_update_response"
	typeStreamInfo   = "io.nats.jetstream.api.v1.stream_info_response"
	typeStreamDelete = "io.nats.jetstream.api.v1.stream_delete_response"
	typeStreamPurge  = "io.nats.jetstream.api.v1.stream_purge_response"
	typeStreamNames  = "io.nats.jetstream.api.v1.stream_names_response"
	typeStreamList   = "io.nats.jetstream.api.v1.stream_list_response"
	typeMsgGet       = "io.nats.jetstream.api.v1.stream_msg_get_response"
	typeMsgDelete    = "io.nats.jetstream.api.v1.stream_msg_delete_response"
	typeAccountInfo  = "io.nats.jetstream.api.v1.account_info_response"
)
