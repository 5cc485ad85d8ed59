package main

import (
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

// streamMetrics writes the stream layer's series for /metrics: per stream
// and per consumer (labels: stream and consumer names only), the JetStream
// API counters and the stream logs' fsync latency.
func streamMetrics(js *jetstore.JetStream) func(*server.PromWriter) {
	return func(w *server.PromWriter) {
		r := js.Report()
		w.One("wren_jetstream_streams", server.PromGauge, "Streams.", float64(r.Streams))
		w.One("wren_jetstream_consumers", server.PromGauge, "Consumers of all streams.", float64(r.Consumers))
		w.One("wren_jetstream_api_requests_total", server.PromCounter, "JetStream API requests served.", float64(r.API.Total))
		w.One("wren_jetstream_api_errors_total", server.PromCounter, "JetStream API requests answered with an error.", float64(r.API.Errors))
		w.One("wren_jetstream_storage_bytes", server.PromGauge, "Bytes stored by file streams.", float64(r.Storage))
		w.One("wren_jetstream_memory_bytes", server.PromGauge, "Bytes stored by memory streams.", float64(r.Memory))

		type series struct {
			name, typ, help string
			v               func(s *jetstore.StreamReport) float64
		}
		for _, f := range []series{
			{"wren_stream_messages", server.PromGauge, "Messages in the stream (its depth).", func(s *jetstore.StreamReport) float64 { return float64(s.State.Msgs) }},
			{"wren_stream_bytes", server.PromGauge, "Bytes of the stream's messages.", func(s *jetstore.StreamReport) float64 { return float64(s.State.Bytes) }},
			{"wren_stream_first_sequence", server.PromGauge, "Sequence of the stream's first message.", func(s *jetstore.StreamReport) float64 { return float64(s.State.FirstSeq) }},
			{"wren_stream_last_sequence", server.PromGauge, "Sequence of the stream's last message.", func(s *jetstore.StreamReport) float64 { return float64(s.State.LastSeq) }},
			{"wren_stream_consumers", server.PromGauge, "Consumers of the stream.", func(s *jetstore.StreamReport) float64 { return float64(s.Consumers) }},
			{"wren_stream_refused_publishes_total", server.PromCounter, "Publishes refused because the stream's store failed writes.", func(s *jetstore.StreamReport) float64 { return float64(s.RefusedPublishes) }},
			{"wren_stream_store_error", server.PromGauge, "1 while the stream's store fails writes (a full disk), else 0.", func(s *jetstore.StreamReport) float64 {
				if s.StoreError != "" {
					return 1
				}
				return 0
			}},
		} {
			w.Family(f.name, f.typ, f.help)
			for i := range r.Detail {
				w.Sample(f.name, f.v(&r.Detail[i]), "stream", r.Detail[i].Name)
			}
		}

		type cseries struct {
			name, typ, help string
			v               func(c *jetstore.ConsumerReport) float64
		}
		for _, f := range []cseries{
			{"wren_consumer_pending_messages", server.PromGauge, "Stream messages the consumer has not delivered yet (its lag, num_pending).", func(c *jetstore.ConsumerReport) float64 { return float64(c.NumPending) }},
			{"wren_consumer_ack_pending_messages", server.PromGauge, "Delivered messages awaiting an ack (num_ack_pending).", func(c *jetstore.ConsumerReport) float64 { return float64(c.NumAckPending) }},
			{"wren_consumer_redelivered_messages", server.PromGauge, "Messages awaiting an ack that were delivered more than once (num_redelivered).", func(c *jetstore.ConsumerReport) float64 { return float64(c.NumRedelivered) }},
			{"wren_consumer_redeliveries_total", server.PromCounter, "Deliveries of a message the consumer had delivered before (ack wait expired, nak) since the server started.", func(c *jetstore.ConsumerReport) float64 { return float64(c.Redeliveries) }},
			{"wren_consumer_delivered_messages_total", server.PromCounter, "Deliveries the consumer made (its consumer sequence).", func(c *jetstore.ConsumerReport) float64 { return float64(c.Delivered) }},
			{"wren_consumer_dead_letters_total", server.PromCounter, "Messages the consumer gave up on (terminated or out of deliveries) since the server started.", func(c *jetstore.ConsumerReport) float64 { return float64(c.DeadLetters) }},
		} {
			w.Family(f.name, f.typ, f.help)
			for i := range r.Detail {
				for j := range r.Detail[i].ConsumerDetail {
					c := &r.Detail[i].ConsumerDetail[j]
					w.Sample(f.name, f.v(c), "stream", r.Detail[i].Name, "consumer", c.Name)
				}
			}
		}

		h := jetstore.FsyncLatency()
		w.Histogram("wren_fsync_duration_seconds", "Time the stream logs' fsyncs took.", h.Bounds, h.Counts, h.Count, h.Sum)
	}
}
