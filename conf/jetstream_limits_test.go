package conf

import (
	"testing"
	"time"
)

// TestJetStreamLimits checks that the [jetstream] limits parse with their
// units, that 0 and -1 pass, and that anything below -1 is refused at its
// place in the file.
func TestJetStreamLimits(t *testing.T) {
	c, err := Parse("wren.toml", []byte("[jetstream]\nmax_memory = \"64MB\"\nmax_file = -1\nmax_streams = 10\nmax_consumers = 0\nmax_ack_pending = 5000\nmax_inactive_threshold = \"1h\"\nduplicate_window = -1\nmax_request_size = \"64KB\"\nrequest_queue_limit = 100\ninfo_queue_limit = 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	j := c.JetStream
	if j.MaxMemory != 64*Megabyte || j.MaxFile != -1 || j.MaxStreams != 10 || j.MaxAckPending != 5000 ||
		j.MaxInactiveThreshold != Duration(time.Hour) || j.DuplicateWindow != Duration(-time.Second) || j.MaxRequestSize != 64*Kilobyte ||
		j.RequestQueueLimit != 100 || j.InfoQueueLimit != 20 {
		t.Fatalf("limits = %+v", j)
	}
	tests := []struct{ file, werr string }{
		{"[jetstream]\nmax_streams = -2\n", "wren.toml:2:15: jetstream.max_streams: must be 0 (the default), -1 (no limit) or a limit, got -2"},
		{"[jetstream]\nrequest_queue_limit = -1\n", "wren.toml:2:23: jetstream.request_queue_limit: must be 0 (the default) or the number of requests that may wait, got -1"},
		{"[jetstream]\nmax_inactive_threshold = \"-5s\"\n", `wren.toml:2:26: jetstream.max_inactive_threshold: must be 0 (the default), -1 (no limit) or a duration, got "-5s"`},
	}
	for _, tt := range tests {
		_, err := Parse("wren.toml", []byte(tt.file))
		if err == nil || err.Error() != tt.werr {
			t.Errorf("Parse(%q) = %v; want %q", tt.file, err, tt.werr)
		}
	}
}
