// Package mqtt is Wren's MQTT 3.1.1 and 5 listener. Every MQTT connection
// is a broker session (server.Session): it authenticates as the same users
// as NATS clients, publishes and subscribes under their permissions, and its
// topics are subjects of the one subject space (see protocol/mqtt for the
// mapping), so MQTT devices and NATS clients see each other's messages.
//
// It imports server, protocol, protocol/mqtt and auth, never jetstore. What
// must survive a restart (persistent sessions, their QoS 1 and 2 messages,
// retained messages) goes through the small Store interface, which the
// stream layer satisfies and cmd/wren wires; without one the state lives in
// memory for the daemon's lifetime.
//
// Lock order (outer to inner): Listener.subMu -> session.mu -> conn.mu,
// and Listener.mu -> session.mu. Only subMu's read lock is held while
// publishing into the broker (a session's own subscriptions run on the
// publisher's goroutine), and only for a retained message; no lock is held
// across socket I/O or while waiting on the store.
package mqtt
