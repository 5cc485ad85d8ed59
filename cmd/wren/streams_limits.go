package main

import (
	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/jetstore"
)

// streamLimits copies the [jetstream] limits into jc. Both use 0 for the
// default and a negative value for no limit; max_file wins over its older
// name max_storage.
func streamLimits(jc *jetstore.Config, cfg conf.JetStream) {
	jc.MaxMemory = cfg.MaxMemory.Int64()
	if cfg.MaxFile != 0 {
		jc.MaxStorage = cfg.MaxFile.Int64()
	}
	jc.MaxStreams = cfg.MaxStreams
	jc.MaxConsumers = cfg.MaxConsumers
	jc.MaxAckPending = cfg.MaxAckPending
	jc.MaxInactiveThreshold = cfg.MaxInactiveThreshold.Duration()
	jc.MaxDuplicateWindow = cfg.DuplicateWindow.Duration()
	jc.MaxRequestSize = int(cfg.MaxRequestSize.Int64())
	jc.RequestQueueLimit = cfg.RequestQueueLimit
	jc.InfoQueueLimit = cfg.InfoQueueLimit
}
