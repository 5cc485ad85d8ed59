package main

import (
	"log/slog"

	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/server"
)

// startStreams attaches the durable stream layer to srv as cfg says. This
// build has no stream layer wired in: it warns when one was asked for and
// attaches nothing.
func startStreams(cfg conf.JetStream, srv *server.Server, logger *slog.Logger) error {
	if cfg.Enabled {
		logger.Warn("jetstream.enabled is set but this build has no stream layer; serving core NATS only", "store_dir", cfg.StoreDir)
	}
	return nil
}
