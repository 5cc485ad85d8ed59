package jetstore

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Report is the stream layer's monitoring document (/jsz), with the core
// fields of the reference server's.
type Report struct {
	Now       time.Time      `json:"now"`
	Config    ReportConfig   `json:"config"`
	Memory    uint64         `json:"memory"`
	Storage   uint64         `json:"storage"`
	API       apiStats       `json:"api"`
	Streams   int            `json:"streams"`
	Consumers int            `json:"consumers"`
	Messages  uint64         `json:"messages"`
	Bytes     uint64         `json:"bytes"`
	Detail    []StreamReport `json:"stream_detail"`
	// Broken lists the stream directories set aside at start because
	// they could not be opened.
	Broken []BrokenStream `json:"broken_streams,omitempty"`
}

// ReportConfig is the stream layer's configuration as /jsz shows it.
type ReportConfig struct {
	MaxMemory  int64  `json:"max_memory"`
	MaxStorage int64  `json:"max_storage"`
	StoreDir   string `json:"store_dir"`
	Sync       string `json:"sync"`
	// RequestQueueLimit and InfoQueueLimit bound the API requests
	// waiting for a worker.
	RequestQueueLimit int `json:"request_queue_limit"`
	InfoQueueLimit    int `json:"info_queue_limit"`
}

// StreamReport is one stream in /jsz.
type StreamReport struct {
	Name      string      `json:"name"`
	Created   time.Time   `json:"created"`
	Storage   string      `json:"storage"`
	State     StreamState `json:"state"`
	Consumers int         `json:"consumer_count"`
	// StoreError is set while the stream's store fails writes (a full
	// disk): what publishers are told, e.g. "storage write failed: no
	// space left on device". RefusedPublishes counts the publishes
	// refused for such failures since the server started.
	StoreError       string `json:"store_error,omitempty"`
	RefusedPublishes uint64 `json:"refused_publishes,omitempty"`
	// DeadLetter names the stream's dead-letter stream, if any.
	DeadLetter string `json:"dead_letter,omitempty"`
	// ConsumerDetail describes each consumer, by name.
	ConsumerDetail []ConsumerReport `json:"consumer_detail"`
}

// Health returns an error naming the streams whose store fails writes
// (a full disk) and those set aside at start, or nil when every stream
// is served and takes writes.
func (js *JetStream) Health() error {
	var failed []string
	for _, b := range js.Broken() {
		failed = append(failed, fmt.Sprintf("stream %q set aside at start: %s", b.Name, b.Reason))
	}
	for _, st := range js.sortedStreams() {
		if e := st.storeError(); e != "" {
			failed = append(failed, fmt.Sprintf("stream %q: %s", st.name, e))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return errors.New(strings.Join(failed, "; "))
}

// Report describes the stream layer for monitoring.
func (js *JetStream) Report() *Report {
	r := &Report{
		Now: time.Now().UTC(),
		Config: ReportConfig{
			MaxMemory:  -1,
			MaxStorage: -1,
			StoreDir:   js.cfg.StoreDir,
			Sync:       js.cfg.Sync.String(),

			RequestQueueLimit: js.lim.requestQueue,
			InfoQueueLimit:    js.lim.infoQueue,
		},
		API:    apiStats{Level: apiLevel, Total: js.apiTotal.Load(), Errors: js.apiErrors.Load()},
		Detail: []StreamReport{},
		Broken: js.Broken(),
	}
	if js.lim.maxFile > 0 {
		r.Config.MaxStorage = js.lim.maxFile
	}
	if js.lim.maxMemory > 0 {
		r.Config.MaxMemory = js.lim.maxMemory
	}
	for _, st := range js.sortedStreams() {
		info := st.info("", nil)
		r.Streams++
		r.Consumers += info.State.Consumers
		r.Messages += info.State.Msgs
		r.Bytes += info.State.Bytes
		if info.Config.Storage == StorageMemory {
			r.Memory += info.State.Bytes
		} else {
			r.Storage += info.State.Bytes
		}
		sr := StreamReport{
			Name: st.name, Created: info.Created, Storage: info.Config.Storage,
			State: info.State, Consumers: info.State.Consumers,
			RefusedPublishes: st.refusedTotal.Load(),
			StoreError:       st.storeError(),
			DeadLetter:       info.Config.DeadLetter,
			ConsumerDetail:   st.consumerReports(),
		}
		r.Detail = append(r.Detail, sr)
	}
	return r
}
