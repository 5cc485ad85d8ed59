// Package auth decides who may connect (tokens, users and passwords, nkeys,
// TLS client certificates) and what each connection may publish and
// subscribe to. It imports only protocol.
package auth
