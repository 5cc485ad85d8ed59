package jetstore

import "sort"

// ConsumerReport is one consumer in /jsz (stream_detail[].consumer_detail)
// and in /metrics: how far behind it is and what it gave up on.
type ConsumerReport struct {
	Name string `json:"name"`
	// NumPending is how many stream messages matching its filter it has
	// not delivered yet: its lag.
	NumPending uint64 `json:"num_pending"`
	// NumAckPending is how many delivered messages await an ack.
	NumAckPending int `json:"num_ack_pending"`
	// NumRedelivered is how many of those were delivered more than once.
	NumRedelivered int `json:"num_redelivered"`
	// Delivered is how many deliveries it made (its consumer sequence).
	Delivered uint64 `json:"delivered"`
	// Redeliveries is how many deliveries were of a message delivered
	// before (ack wait expired, nak), since the server started.
	Redeliveries uint64 `json:"redeliveries"`
	// DeadLetters is how many messages it gave up on (terminated, or out
	// of deliveries) since the server started.
	DeadLetters uint64 `json:"dead_letters"`
	// DeliveryDenied says why a push consumer delivers nothing: its owner
	// may not have the server publish to its deliver subject.
	DeliveryDenied string `json:"delivery_denied,omitempty"`
}

// consumerReports describes the stream's consumers, by name.
func (st *stream) consumerReports() []ConsumerReport {
	st.mu.RLock()
	cs := make([]*consumer, 0, len(st.consumers))
	for _, c := range st.consumers {
		cs = append(cs, c)
	}
	st.mu.RUnlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	list := make([]ConsumerReport, 0, len(cs))
	for _, c := range cs {
		ci := c.info("")
		list = append(list, ConsumerReport{
			Name: c.name, NumPending: ci.NumPending, NumAckPending: ci.NumAckPending,
			NumRedelivered: ci.NumRedelivered, Delivered: ci.Delivered.Consumer,
			Redeliveries: c.redeliveries.Load(), DeadLetters: c.deadLetters.Load(),
			DeliveryDenied: ci.DeliveryDenied,
		})
	}
	return list
}
