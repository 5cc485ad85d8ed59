package mqtt

// Outbound topic aliases (MQTT 5). A client that sets Topic Alias Maximum
// in its CONNECT lets the server send a topic once with a two-byte alias
// and then the alias alone. A topic gets an alias the second time it is
// sent to the connection, while aliases are left (the client's maximum,
// capped by Options.TopicAliasMaximum), and keeps it for the connection's
// life: the busy topics a device is sent again and again (its commands,
// the states it follows) come with two bytes instead of the topic, while
// one-off topics, such as the response topics of requests, use up none.
// Once every alias is taken, other topics go in full. Aliases belong to a
// network connection, so a new one starts with none.
//
// The state (allocated only for a client that takes aliases) is the
// connection's, used under its session's mu, where every
// PUBLISH to the client is written (sendLocked).
type outAliases struct {
	max int
	n   int               // aliases given
	ids map[string]uint16 // topic -> alias; 0: sent once, without one
}

// pick returns the alias to send topic with (0: none) and whether it is
// new: the packet then carries the topic as well, and keep records it once
// the packet is queued.
func (a *outAliases) pick(topic []byte) (alias uint16, fresh bool) {
	id, seen := a.ids[string(topic)]
	if id != 0 || a.n >= a.max {
		return id, false
	}
	if seen {
		return uint16(a.n + 1), true
	}
	if a.ids == nil {
		a.ids = make(map[string]uint16, min(a.max, 16))
	} else if len(a.ids)-a.n >= a.max {
		for t, v := range a.ids { // forget the topics sent once
			if v == 0 {
				delete(a.ids, t)
			}
		}
	}
	a.ids[string(topic)] = 0
	return 0, false
}

// keep records a new alias the client was sent.
func (a *outAliases) keep(topic []byte, alias uint16) {
	a.ids[string(topic)] = alias
	a.n++
}
