package jetstore

import "github.com/wrenmq/wren/protocol"

// consumer is a stream consumer.
type consumer struct{}

func (c *consumer) close() error { return nil }

// notify tells the consumer the stream changed.
func (c *consumer) notify() {}

// notifyConsumers tells every consumer that the stream changed.
func (st *stream) notifyConsumers() {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, c := range st.consumers {
		c.notify()
	}
}

// closeConsumers stops every consumer of the stream.
func (st *stream) closeConsumers() {
	st.mu.Lock()
	cs := st.consumers
	st.consumers = make(map[string]*consumer)
	st.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

// restoreConsumers loads the stream's consumers from disk.
func (st *stream) restoreConsumers() error { return nil }

// consumerAPI serves the $JS.API.CONSUMER.> requests.
func (js *JetStream) consumerAPI(m *protocol.Msg, tok []string) {
	js.fail(string(m.Reply), errUnknownAPI(string(m.Subject)))
}
