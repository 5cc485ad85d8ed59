package conf

import "time"

// The limits of the [jetstream] section, under nats-server's names (their
// fields are in JetStream): for each, 0 picks the default and -1 lifts the
// limit.

func (v *checker) jetStreamLimits(l *JetStream) {
	const p = "jetstream."
	for _, f := range []struct {
		key string
		n   int64
	}{
		{"max_memory", l.MaxMemory.Int64()},
		{"max_file", l.MaxFile.Int64()},
		{"max_streams", int64(l.MaxStreams)},
		{"max_consumers", int64(l.MaxConsumers)},
		{"max_ack_pending", int64(l.MaxAckPending)},
		{"max_request_size", l.MaxRequestSize.Int64()},
	} {
		if f.n < -1 {
			v.add(p+f.key, "must be 0 (the default), -1 (no limit) or a limit, got %d", f.n)
		}
	}
	for _, f := range []struct {
		key string
		n   int
	}{
		{"request_queue_limit", l.RequestQueueLimit},
		{"info_queue_limit", l.InfoQueueLimit},
	} {
		if f.n < 0 {
			v.add(p+f.key, "must be 0 (the default) or the number of requests that may wait, got %d", f.n)
		}
	}
	for _, f := range []struct {
		key string
		d   Duration
	}{
		{"max_inactive_threshold", l.MaxInactiveThreshold},
		{"duplicate_window", l.DuplicateWindow},
	} {
		if f.d < 0 && f.d != Duration(-time.Second) {
			v.add(p+f.key, "must be 0 (the default), -1 (no limit) or a duration, got %q", f.d)
		}
	}
}
