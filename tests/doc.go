// Package tests holds Wren's black-box tests: a real server on 127.0.0.1:0
// driven by the official nats.go client and by raw TCP, plus benchmarks.
package tests
