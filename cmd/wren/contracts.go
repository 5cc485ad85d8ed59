package main

import (
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

// The broker's in-process connection is the stream layer's bus. The
// stream layer declares what it needs and the broker never imports it, so
// these assertions are where a change on either side that breaks the
// other fails to compile.
var (
	_ jetstore.Bus             = (*server.InProc)(nil)
	_ jetstore.BatchPublisher  = (*server.InProc)(nil)
	_ jetstore.Deliverer       = (*server.InProc)(nil)
	_ jetstore.InterestChecker = (*server.InProc)(nil)
	// Push consumers check their owner's permissions through it.
	_ jetstore.PermissionChecker = (*server.InProc)(nil)
	// Optional: streams take part in message tracing through it.
	_ jetstore.TracingSubscriber = (*server.InProc)(nil)
	// Optional: a round of deliveries wakes each receiver once.
	_ jetstore.BatchDeliverer = (*server.InProc)(nil)
	_ jetstore.NowDeliverer   = (*server.InProc)(nil)
)
