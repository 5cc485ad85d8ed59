// Package protocol is the NATS client protocol's wire grammar: a byte-level
// parser for client operations, encoders for server operations, the NATS/1.0
// header block, and subject validation and matching.
//
// It is pure: no I/O, no connections, and it imports nothing from the rest of
// Wren, so the broker, the auth layer and the stream layer share one set of
// subject rules.
package protocol
