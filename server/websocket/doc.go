// Package websocket is Wren's WebSocket listener (RFC 6455, server side):
// it upgrades HTTP/1.1 requests, checks their origin, and hands each
// connection, as a byte stream, to the protocol its path asks for: the NATS
// client protocol for browsers (nats.ws, @nats-io/nats-core wsconnect), and
// MQTT on /mqtt with the "mqtt" subprotocol.
//
// It imports only the standard library, and not net/http: the handshake is
// one request head, read with a size limit and a deadline, and the framing
// is a few hundred lines, where an HTTP server and a WebSocket library would
// cost the gateway binary far more.
//
// With Options.Compression, permessage-deflate (RFC 7692) is accepted when
// a client offers it, without context takeover either way: compress/flate
// inflaters and compressors are pooled and held only while one message is
// inflated or deflated, so an idle connection costs nothing more. A
// compressed message that inflates past Options.MaxMessage closes the
// connection with 1009, before more than that is inflated.
package websocket
