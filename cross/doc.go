// Command cross builds Wren's release binaries for edge gateways and checks
// them against the footprint budgets:
//
//	go run ./cross build  [-targets all] [-out dist] [-compare]
//	go run ./cross smoke  [-targets smoke] [-dir dist]
//	go run ./cross rss    [-nats-server PATH]
//
// build makes stripped, static (CGO off) binaries for every target, names
// them wren-<version>-<target>, writes SHA-256 checksums, prints a size
// table and fails if a binary is over its budget. smoke runs the built
// binaries under qemu-user with pinned CPU models: it starts the daemon
// with a store directory, publishes to a stream, restarts it and checks the
// message survived. rss measures the host binary's resident memory idle,
// with 1,000 idle subscribed connections and under a steady stream publish,
// next to nats-server's for the same workload. See cross/README.md.
package main
