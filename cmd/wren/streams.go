package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

// startStreams attaches the durable stream layer to srv when cfg enables
// it: an in-process connection to the broker, the store directory, and the
// /jsz report. It returns nil when streams are off.
func startStreams(cfg conf.JetStream, srv *server.Server, logger *slog.Logger) (*jetstore.JetStream, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	dir, err := filepath.Abs(cfg.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("jetstream.store_dir: %w", err)
	}
	jc := jetstore.Config{
		StoreDir:   dir,
		Domain:     cfg.Domain,
		SyncEvery:  cfg.SyncInterval.Duration(),
		MaxStorage: cfg.MaxStorage.Int64(),
		Logger:     logger.With("component", "jetstream"),
	}
	streamLimits(&jc, cfg)
	switch cfg.Sync {
	case conf.SyncInterval:
		jc.Sync = jetstore.SyncInterval
	case conf.SyncNever:
		jc.Sync = jetstore.SyncNever
	default:
		jc.Sync = jetstore.SyncAlways
	}
	if jc.Sync != jetstore.SyncAlways {
		logger.Warn("stream sync policy is not 'always': acknowledged messages can be lost on power failure", "sync", cfg.Sync)
	}
	ip := srv.InProc("$JETSTREAM")
	js, err := jetstore.Open(ip, jc)
	if err != nil {
		// Core NATS is served all the same; monitoring says why streams
		// are not.
		ip.Close()
		reason := err.Error()
		logger.Error("stream layer cannot open; serving core NATS without streams", "error", reason)
		srv.SetStreamReport(func() any { return map[string]string{"error": reason} })
		srv.SetHealthCheck(func() error { return fmt.Errorf("stream layer unavailable: %s", reason) })
		return nil, nil
	}
	srv.SetStreamReport(func() any { return js.Report() })
	srv.SetHealthCheck(js.Health)
	srv.AddMetrics("jetstream", streamMetrics(js))
	return js, nil
}
