// Package jetstore is Wren's optional durable stream layer: streams stored in
// a write-ahead log, consumers with acks and redelivery, and the JetStream API
// subset that NATS clients use.
//
// It is a client of the broker: it declares the small Bus interface it needs
// and imports only protocol, never server.
package jetstore
