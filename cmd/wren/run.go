package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
	mqttl "github.com/wrenmq/wren/server/mqtt"
	"github.com/wrenmq/wren/server/websocket"
)

// daemon is a running wren: its configuration, logger and server.
type daemon struct {
	f     *flags
	cfg   *conf.Config
	level *slog.LevelVar
	log   *slog.Logger
	srv   *server.Server
	js    *jetstore.JetStream
	up    *uplink
	logf  *logFile // nil when logging to standard error
	mqtt  *mqttl.Listener
	ws    *websocket.Listener
}

// run is the daemon's main: it loads the configuration, starts the server
// and serves until SIGINT or SIGTERM, reloading on SIGHUP.
func run(args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stdout)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if f.showVersion {
		printVersion()
		return nil
	}
	cfg, err := loadConfig(f)
	if err != nil {
		return err
	}
	tempStore := useTempStore(f, cfg)
	if tempStore {
		cfg.JetStream.StoreDir = tempStoreDir()
	}
	if f.check {
		if _, err := buildOptions(f, cfg); err != nil {
			return err
		}
		if _, err := leafRemotes(cfg.Leafnodes); err != nil {
			return err
		}
		if err := preflight(f, cfg); err != nil {
			return err
		}
		name := f.configFile
		if name == "" {
			name = "built-in defaults"
		}
		fmt.Fprintf(stdout, "%s: configuration is valid\n", name)
		return nil
	}

	d := &daemon{f: f, cfg: cfg, level: new(slog.LevelVar)}
	d.level.Set(cfg.Log.SlogLevel())
	var closeLog func()
	if d.log, d.logf, closeLog, err = newLogger(cfg.Log, d.level); err != nil {
		return err
	}
	defer closeLog()
	if tempStore {
		logTempStore(d.log, cfg.JetStream.StoreDir)
	}
	opts, err := buildOptions(f, cfg)
	if err != nil {
		return err
	}
	opts.Logger = d.log
	if opts.TLS != nil {
		// Served anyway: a device whose clock is not set yet would
		// otherwise not start at all.
		if err := certExpired(opts.TLS, cfg.TLS.CertFile, time.Now()); err != nil {
			d.log.Warn("TLS certificate has expired; clients that verify it will refuse to connect", "error", err)
		}
	}
	setMemoryLimit(cfg.Limits.GoMemLimit, d.log)
	if d.srv, err = server.New(opts); err != nil {
		return err
	}
	if len(cfg.Leafnodes.Remotes) > 0 {
		d.srv.TrackInterest() // before anything subscribes
	}
	// The stream layer is restored before the listener opens, so no
	// client ever sees the JetStream API missing while streams load.
	if err := d.startServices(); err != nil {
		d.shutdown()
		return err
	}
	if err := d.srv.Start(); err != nil {
		d.shutdown()
		return err
	}
	if d.up, err = startUplink(cfg, d.srv, d.js, opts.ServerName); err != nil {
		d.shutdown()
		return err
	}
	if d.up != nil {
		d.srv.AddMetrics("uplink", d.up.metrics(cfg.Leafnodes))
	}
	sigs := notifySignals()
	d.log.Info("wren started", "version", server.Version, "server_id", d.srv.ID(), "url", d.srv.ClientURL(), "config", f.configFile)
	dropStartPages()

	return d.serveSignals(sigs)
}

// startServices starts what runs beside the broker: monitoring and the
// stream layer.
func (d *daemon) startServices() error {
	if m := d.cfg.Monitor; m.Enabled() {
		if _, err := d.srv.StartMonitoringWith(server.MonitorOptions{Host: m.Host, Port: m.Port, Token: m.Token}); err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
	}
	js, err := startStreams(d.cfg.JetStream, d.srv, d.log)
	d.js = js
	if err != nil {
		return err
	}
	if err := d.startMQTT(); err != nil {
		return err
	}
	return d.startWebSocket()
}

func (d *daemon) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Shutdown.DrainTimeout.Duration())
	defer cancel()
	d.up.close() // the forwards keep their cursors; the links close
	d.stopWebSocket()
	d.stopMQTT()
	err := d.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// The clients that did not take their queued messages in time
		// were cut; the stream layer is still closed properly below.
		d.log.Warn("clients did not drain within shutdown.drain_timeout; their connections were closed", "drain_timeout", d.cfg.Shutdown.DrainTimeout.String())
		err = nil
	}
	if d.js != nil {
		// After the clients: nothing new arrives while queued messages are
		// stored and the logs are synced and closed.
		if cerr := d.js.Close(); cerr != nil {
			d.log.Error("closing the stream layer", "error", cerr)
			if err == nil {
				err = cerr
			}
		}
	}
	return err
}

// reload re-reads the configuration file on SIGHUP, and the TLS
// certificate, key and CA files every time, since they may have been
// replaced while the file stayed the same. A file that does not load, or
// a certificate that does not (unreadable, not matching its key, expired),
// is logged and changes nothing.
func (d *daemon) reload() {
	if d.f.configFile == "" {
		d.log.Warn("SIGHUP: no configuration file to reload (started without --config)")
		return
	}
	cfg, err := loadConfig(d.f)
	var opts server.Options
	if err == nil {
		opts, err = buildOptions(d.f, cfg)
	}
	if err == nil && opts.TLS != nil {
		if cerr := certExpired(opts.TLS, cfg.TLS.CertFile, time.Now()); cerr != nil {
			err = configError(d.f, "tls.cert_file", cerr)
		}
	}
	if err != nil {
		d.log.Error("configuration reload failed; the running configuration stays in force", "error", oneLine(err))
		return
	}
	opts.Logger = d.log
	// The new log level is in force before the server says "configuration
	// reloaded", so whatever follows that line is logged at the new level.
	oldLevel := d.level.Level()
	d.level.Set(cfg.Log.SlogLevel())
	if err := d.srv.Reload(opts); err != nil {
		d.level.Set(oldLevel)
		d.log.Error("configuration reload failed; the running configuration stays in force", "error", err)
		return
	}
	if d.js != nil {
		d.js.RecheckOwners() // push consumers whose owner lost a permission stop now
	}
	if cfg.Limits.GoMemLimit != d.cfg.Limits.GoMemLimit {
		if cfg.Limits.GoMemLimit == 0 {
			d.log.Warn("configuration change needs a restart to take effect; keeping the running value", "option", "limits.gomemlimit")
		} else {
			setMemoryLimit(cfg.Limits.GoMemLimit, d.log)
		}
	}
	if d.up != nil {
		if err := d.up.reload(reloadedLeafnodes(d.cfg.Leafnodes, cfg.Leafnodes, true), d.srv); err != nil {
			d.log.Error("leafnodes reload failed; the running remotes stay in force", "error", err)
			cfg.Leafnodes = d.cfg.Leafnodes
		}
	}
	d.cfg = d.keepRunning(cfg)
}

// keepRunning warns about each key of cfg that only a restart can change
// and that differs from what runs, naming it by its full path with both
// values, and returns cfg with the running values of those keys: the
// next reload compares with what runs, not with the previous file.
func (d *daemon) keepRunning(cfg *conf.Config) *conf.Config {
	run := d.cfg
	next := *cfg
	logNext := next.Log
	logNext.Level, logNext.Trace = run.Log.Level, run.Log.Trace // reloaded
	var changed [][3]string
	changed = append(changed, changedKeys("log", run.Log, logNext)...)
	changed = append(changed, changedKeys("monitor", run.Monitor, next.Monitor)...)
	changed = append(changed, changedKeys("jetstream", run.JetStream, next.JetStream)...)
	changed = append(changed, changedKeys("msg_trace", run.MsgTrace, next.MsgTrace)...)
	changed = append(changed, changedKeys("mqtt", run.MQTT, next.MQTT)...)
	changed = append(changed, changedKeys("websocket", run.WebSocket, next.WebSocket)...)
	leafRun := reloadedLeafnodes(run.Leafnodes, next.Leafnodes, d.up != nil)
	if !leafnodesEqual(leafRun, next.Leafnodes) {
		changed = append(changed, changedKeys("leafnodes", leafRun, next.Leafnodes)...)
	}
	for _, c := range changed {
		d.log.Warn("configuration change needs a restart to take effect; keeping the running value",
			"option", c[0], "running", c[1], "configured", c[2])
	}
	level, trace := next.Log.Level, next.Log.Trace
	next.Log = run.Log
	next.Log.Level, next.Log.Trace = level, trace
	next.Monitor = run.Monitor
	next.JetStream = run.JetStream
	next.MsgTrace = run.MsgTrace
	next.Leafnodes = leafRun
	next.MQTT = run.MQTT
	next.WebSocket = run.WebSocket
	return &next
}

// setMemoryLimit applies limits.gomemlimit; 0 leaves the runtime alone.
func setMemoryLimit(n conf.Size, logger *slog.Logger) {
	if n > 0 {
		debug.SetMemoryLimit(n.Int64())
		logger.Debug("memory limit set", "gomemlimit", n.String())
	}
}

// oneLine joins a multi-line error (a conf.ErrorList) for a log line.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
