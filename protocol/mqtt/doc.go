// Package mqtt is Wren's MQTT 3.1.1 and 5 codec: it frames, decodes and
// encodes control packets, checks every length, flag and property against
// the specifications, and maps MQTT topics onto NATS subjects.
//
// It is pure: no I/O, no connections, and it imports only the standard
// library. Decoding is exact: a packet that decodes encodes back to the same
// bytes, and anything the specification calls malformed or a protocol error
// is refused with the reason code a broker answers it with (see Error).
// Decoded packets point into the buffer they were decoded from; copy what
// you keep past the next read.
package mqtt
