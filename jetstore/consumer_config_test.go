package jetstore

import (
	"testing"
	"time"
)

func TestNormalizeConsumer(t *testing.T) {
	stream := StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: StorageFile, Retention: RetentionLimits}
	wq := stream
	wq.Retention = RetentionWorkQueue
	start := time.Unix(100, 0)
	tests := []struct {
		name   string
		in     ConsumerConfig
		scfg   StreamConfig
		wcode  uint16
		wcheck func(ConsumerConfig) bool
	}{
		{"pull defaults", ConsumerConfig{Durable: "d", AckPolicy: AckExplicit}, stream, 0, func(c ConsumerConfig) bool {
			return c.Name == "d" && c.DeliverPolicy == DeliverAll && c.AckWait == defaultAckWait && c.MaxDeliver == -1 &&
				c.MaxWaiting == defaultMaxWaiting && c.MaxAckPending == defaultMaxAckPending && c.ReplayPolicy == ReplayInstant &&
				c.InactiveThreshold == 0
		}},
		{"ephemeral pull gets an inactive threshold", ConsumerConfig{Name: "e", AckPolicy: AckExplicit}, stream, 0, func(c ConsumerConfig) bool {
			return c.InactiveThreshold == defaultEphemeralInactive
		}},
		{"backoff sets ack wait", ConsumerConfig{Durable: "d", AckPolicy: AckExplicit, MaxDeliver: 5, BackOff: []time.Duration{time.Second, 2 * time.Second}}, stream, 0,
			func(c ConsumerConfig) bool { return c.AckWait == time.Second }},
		{"one filter of many becomes filter_subject", ConsumerConfig{Durable: "d", FilterSubjects: []string{"s.a"}}, stream, 0,
			func(c ConsumerConfig) bool { return c.FilterSubject == "s.a" && c.FilterSubjects == nil }},
		{"ack none has no max ack pending", ConsumerConfig{Durable: "d", AckPolicy: AckNone}, stream, 0,
			func(c ConsumerConfig) bool { return c.MaxAckPending == 0 }},
		{"memory stream, memory consumer", ConsumerConfig{Durable: "d"}, StreamConfig{Name: "M", Subjects: []string{"m"}, Storage: StorageMemory}, 0,
			func(c ConsumerConfig) bool { return c.MemoryStorage }},
		{"push", ConsumerConfig{Durable: "d", DeliverSubject: "out", FlowControl: true, Heartbeat: time.Second}, stream, 0,
			func(c ConsumerConfig) bool { return c.MaxWaiting == 0 }},
		{"names differ", ConsumerConfig{Durable: "a", Name: "b"}, stream, 10132, nil},
		{"bad name", ConsumerConfig{Durable: "a.b"}, stream, 10103, nil},
		{"path in name", ConsumerConfig{Durable: "a/b"}, stream, 10127, nil},
		{"bad deliver policy", ConsumerConfig{Durable: "d", DeliverPolicy: "sometimes"}, stream, 10094, nil},
		{"start seq needs by_start_sequence", ConsumerConfig{Durable: "d", OptStartSeq: 3}, stream, 10094, nil},
		{"by_start_time needs a time", ConsumerConfig{Durable: "d", DeliverPolicy: DeliverByStartTime}, stream, 10094, nil},
		{"by_start_time with a seq", ConsumerConfig{Durable: "d", DeliverPolicy: DeliverByStartTime, OptStartTime: &start, OptStartSeq: 2}, stream, 10094, nil},
		{"bad ack policy", ConsumerConfig{Durable: "d", AckPolicy: "maybe"}, stream, 10181, nil},
		{"replay original", ConsumerConfig{Durable: "d", ReplayPolicy: ReplayOriginal}, stream, 0,
			func(c ConsumerConfig) bool { return c.ReplayPolicy == ReplayOriginal }},
		{"bad replay policy", ConsumerConfig{Durable: "d", ReplayPolicy: "fast"}, stream, 10182, nil},
		{"negative ack wait", ConsumerConfig{Durable: "d", AckWait: -1}, stream, 10183, nil},
		{"negative backoff", ConsumerConfig{Durable: "d", BackOff: []time.Duration{-1}}, stream, 10184, nil},
		{"backoff vs max deliver", ConsumerConfig{Durable: "d", MaxDeliver: 2, BackOff: []time.Duration{1, 2}}, stream, 10116, nil},
		{"max ack pending with ack none", ConsumerConfig{Durable: "d", AckPolicy: AckNone, MaxAckPending: 3}, stream, 10082, nil},
		{"pull with heartbeat", ConsumerConfig{Durable: "d", Heartbeat: time.Second}, stream, 10088, nil},
		{"pull with flow control", ConsumerConfig{Durable: "d", FlowControl: true}, stream, 10089, nil},
		{"negative max waiting", ConsumerConfig{Durable: "d", MaxWaiting: -1}, stream, 10087, nil},
		{"push with max waiting", ConsumerConfig{Durable: "d", DeliverSubject: "out", MaxWaiting: 3}, stream, 10080, nil},
		{"wildcard deliver subject", ConsumerConfig{Durable: "d", DeliverSubject: "out.*"}, stream, 10079, nil},
		{"deliver subject in the API", ConsumerConfig{Durable: "d", DeliverSubject: "$JS.API.STREAM.DELETE.S"}, stream, 10112, nil},
		{"deliver subject in the stream", ConsumerConfig{Durable: "d", DeliverSubject: "s.x"}, stream, 10081, nil},
		{"small heartbeat", ConsumerConfig{Durable: "d", DeliverSubject: "out", Heartbeat: time.Millisecond}, stream, 10083, nil},
		{"flow control without heartbeat", ConsumerConfig{Durable: "d", DeliverSubject: "out", FlowControl: true}, stream, 10108, nil},
		{"both filter forms", ConsumerConfig{Durable: "d", FilterSubject: "s.a", FilterSubjects: []string{"s.b"}}, stream, 10136, nil},
		{"empty filter", ConsumerConfig{Durable: "d", FilterSubjects: []string{"s.a", ""}}, stream, 10139, nil},
		{"overlapping filters", ConsumerConfig{Durable: "d", FilterSubjects: []string{"s.*", "s.a"}}, stream, 10138, nil},
		{"filter outside the stream", ConsumerConfig{Durable: "d", FilterSubject: "t"}, stream, 10093, nil},
		{"replicas", ConsumerConfig{Durable: "d", Replicas: 3}, stream, 10126, nil},
		{"priority groups", ConsumerConfig{Durable: "d", PriorityGroups: []string{"g"}}, stream, 10012, nil},
		{"work queue needs explicit ack", ConsumerConfig{Durable: "d", AckPolicy: AckAll}, wq, 10098, nil},
		{"work queue needs deliver all", ConsumerConfig{Durable: "d", AckPolicy: AckExplicit, DeliverPolicy: DeliverNew}, wq, 10101, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := normalizeConsumer(tt.in, tt.scfg)
			var code uint16
			if e != nil {
				code = e.ErrCode
			}
			if code != tt.wcode {
				t.Fatalf("normalizeConsumer(%+v) error %v; want err_code %d", tt.in, e, tt.wcode)
			}
			if tt.wcheck != nil && !tt.wcheck(got) {
				t.Errorf("normalizeConsumer(%+v) = %+v", tt.in, got)
			}
		})
	}
}

func TestCheckConsumerUpdate(t *testing.T) {
	base := ConsumerConfig{Durable: "d", DeliverPolicy: DeliverAll, AckPolicy: AckExplicit, ReplayPolicy: ReplayInstant}
	tests := []struct {
		name   string
		change func(*ConsumerConfig)
		wok    bool
	}{
		{"ack wait", func(c *ConsumerConfig) { c.AckWait = time.Second }, true},
		{"max ack pending", func(c *ConsumerConfig) { c.MaxAckPending = 5 }, true},
		{"filter", func(c *ConsumerConfig) { c.FilterSubject = "x" }, true},
		{"deliver policy", func(c *ConsumerConfig) { c.DeliverPolicy = DeliverNew }, false},
		{"ack policy", func(c *ConsumerConfig) { c.AckPolicy = AckAll }, false},
		{"push", func(c *ConsumerConfig) { c.DeliverSubject = "out" }, false},
		{"storage", func(c *ConsumerConfig) { c.MemoryStorage = true }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			tt.change(&next)
			if got := checkConsumerUpdate(base, next) == nil; got != tt.wok {
				t.Errorf("checkConsumerUpdate(%s) ok = %v; want %v", tt.name, got, tt.wok)
			}
		})
	}
}
