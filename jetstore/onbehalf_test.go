package jetstore

import "testing"

func TestClientHeader(t *testing.T) {
	tests := []struct {
		name, hdr, want string
	}{
		{"nothing to remove", "NATS/1.0\r\nA: 1\r\n\r\n", "NATS/1.0\r\nA: 1\r\n\r\n"},
		{"malformed kept as sent", "\r\n\r\n\r\n", "\r\n\r\n\r\n"},
		{"status", "NATS/1.0 503\r\nA: 1\r\n\r\n", "NATS/1.0\r\nA: 1\r\n\r\n"},
		{"status alone", "NATS/1.0 100 Idle Heartbeat\r\n\r\n", "NATS/1.0\r\n\r\n"},
		{"dead-letter fields", "NATS/1.0\r\nwren-dlq-subject: x\r\nA: 1\r\nWren-DLQ-Stream: S\r\nB:  2\r\n\r\n", "NATS/1.0\r\nA: 1\r\nB: 2\r\n\r\n"},
		{"request info", "NATS/1.0\r\nNats-Request-Info: {}\r\nNats-Msg-Id: m\r\n\r\n", "NATS/1.0\r\nNats-Msg-Id: m\r\n\r\n"},
		{"only server fields", "NATS/1.0 503\r\nWren-DLQ-Reason: x\r\n\r\n", ""},
		{"other Wren fields kept", "NATS/1.0\r\nWren-Other: 1\r\n\r\n", "NATS/1.0\r\nWren-Other: 1\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(clientHeader([]byte(tt.hdr))); got != tt.want {
				t.Errorf("clientHeader(%q) = %q; want %q", tt.hdr, got, tt.want)
			}
		})
	}
}
