// Package nkey reads and writes NATS nkeys: the base32 text form of Ed25519
// public keys and seeds with their one-letter role prefix and CRC-16
// checksum, and the decorated credentials files (a user JWT and a seed
// between "-----BEGIN ...-----" and "------END ...------" lines) that
// NATS tools write.
//
// It signs and verifies with crypto/ed25519 and imports nothing else
// beyond the standard library, so the nonce handshake costs the binary a
// few kilobytes and no regular-expression engine.
package nkey
