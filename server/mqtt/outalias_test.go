package mqtt

import (
	"fmt"
	"testing"

	"github.com/eclipse/paho.golang/paho"
)

// The server gives a topic it sends a client again an alias, within the
// Topic Alias Maximum the client set: the topic's second message carries
// the topic and the alias, later ones the alias alone. One-off topics use
// up no alias, topics beyond the maximum go in full, and a client that set
// no maximum gets no aliases.
func TestMQTT5OutboundTopicAliases(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	aliased := b.client5(t, "aliased", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{TopicAliasMaximum: u16(2)}})
	plain := b.client5(t, "plain", nil)
	for _, c := range []*client5{aliased, plain} {
		c.sub(t, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "al/#", QoS: 1}}})
	}
	nc := b.nats(t)
	sent := []string{"al/a", "al/a", "al/a", "al/once", "al/b", "al/b", "al/c", "al/c", "al/c", "al/b", "al/a"}
	for i, topic := range sent {
		if err := nc.Publish(topicSubject(topic), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	type wire struct {
		topic string
		alias uint16
	}
	// What each message carried: its topic (empty when the alias stands
	// for it) and its alias (0 for none).
	want := []wire{
		{"al/a", 0}, {"al/a", 1}, {"", 1}, {"al/once", 0},
		{"al/b", 0}, {"al/b", 2}, {"al/c", 0}, {"al/c", 0}, {"al/c", 0}, {"", 2}, {"", 1},
	}
	got := aliased.waitN(t, len(sent))
	aliases := map[uint16]string{}
	for i, m := range got {
		w := wire{topic: m.Topic}
		if m.Properties != nil && m.Properties.TopicAlias != nil {
			w.alias = *m.Properties.TopicAlias
		}
		if w != want[i] || string(m.Payload) != fmt.Sprint(i) {
			t.Errorf("message %d (%s) came as topic %q alias %d; want topic %q alias %d", i, m.Payload, w.topic, w.alias, want[i].topic, want[i].alias)
		}
		// Resolve it as a client does.
		topic := m.Topic
		if w.alias != 0 {
			if topic != "" {
				aliases[w.alias] = topic
			}
			topic = aliases[w.alias]
		}
		if topic != sent[i] {
			t.Errorf("message %d resolves to %q; want %q", i, topic, sent[i])
		}
	}
	for i, m := range plain.waitN(t, len(sent)) {
		if m.Topic != sent[i] || m.Properties != nil && m.Properties.TopicAlias != nil {
			t.Errorf("client without a Topic Alias Maximum: message %d as %q alias %v", i, m.Topic, m.Properties.TopicAlias)
		}
	}
}

// topicSubject is the NATS subject of a plain MQTT topic.
func topicSubject(topic string) string {
	b := []byte(topic)
	for i := range b {
		if b[i] == '/' {
			b[i] = '.'
		}
	}
	return string(b)
}
