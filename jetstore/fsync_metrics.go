package jetstore

import "github.com/wrenmq/wren/jetstore/store"

// FsyncLatency returns the stream logs' fsync latencies so far, for every
// stream layer in the process.
func FsyncLatency() store.Histogram { return store.FsyncLatency() }
