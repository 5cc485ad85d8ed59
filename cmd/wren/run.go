package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wrenmq/wren/server"
)

// flags are the command line options. Names match the reference server's
// where they exist, so scripts and service units written for it keep
// working.
type flags struct {
	addr, configFile, logFile, logLevel, storeDir string
	port, httpPort, maxConns                      int
	maxPayload                                    int
	jetstream, debug, trace, showVersion, check   bool
}

func parseFlags(args []string) (*flags, *flag.FlagSet, error) {
	f := &flags{}
	fs := flag.NewFlagSet("wren", flag.ContinueOnError)
	fs.Usage = func() { usage(fs.Output()) }
	str := func(p *string, def, usage string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, def, usage)
		}
	}
	num := func(p *int, def int, usage string, names ...string) {
		for _, n := range names {
			fs.IntVar(p, n, def, usage)
		}
	}
	boolean := func(p *bool, usage string, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, usage)
		}
	}
	str(&f.addr, "", "", "a", "addr", "net")
	num(&f.port, 0, "", "p", "port")
	num(&f.httpPort, 0, "", "m", "http_port")
	str(&f.configFile, "", "", "c", "config")
	boolean(&f.jetstream, "", "js", "jetstream")
	str(&f.storeDir, "", "", "sd", "store_dir")
	boolean(&f.debug, "", "D", "debug")
	boolean(&f.trace, "", "V", "trace")
	str(&f.logFile, "", "", "l", "log")
	str(&f.logLevel, "", "", "log_level")
	num(&f.maxConns, 0, "", "max_connections")
	num(&f.maxPayload, 0, "", "max_payload")
	boolean(&f.showVersion, "", "v", "version")
	boolean(&f.check, "", "t", "check")
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	if fs.NArg() > 0 {
		return nil, fs, fmt.Errorf("unexpected argument %q (see wren --help)", fs.Arg(0))
	}
	return f, fs, nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: wren [options]
       wren version

Wren is a NATS-protocol pub/sub daemon with an optional durable stream
layer. With no options it listens on 0.0.0.0:4222 with built-in defaults.

Server options:
  -a, --addr, --net <host>      bind to host address (default 0.0.0.0)
  -p, --port <port>             client port (default 4222)
  -m, --http_port <port>        HTTP monitoring port (default off)
  -c, --config <file>           configuration file (TOML)
  -t, --check                   validate the configuration and exit
      --max_payload <bytes>     largest message payload (default 1048576)
      --max_connections <n>     most client connections (default 65536)

Stream layer:
  -js, --jetstream              enable the stream layer (JetStream API)
  -sd, --store_dir <dir>        stream storage directory (enables streams)

Logging:
  -l, --log <file>              log to file instead of stderr
      --log_level <level>       debug, info, warn or error (default info)
  -D, --debug                   debug logging
  -V, --trace                   trace logging (as debug)

Other:
  -v, --version                 print version and exit
  -h, --help                    show this help
`)
}

// run is the daemon's main: it parses flags, starts the server and waits
// for a signal.
func run(args []string) error {
	f, _, err := parseFlags(args)
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
	logger, closeLog, err := newLogger(f)
	if err != nil {
		return err
	}
	defer closeLog()

	opts := server.Options{
		Host:           "0.0.0.0",
		Port:           server.DefaultPort,
		MaxPayload:     f.maxPayload,
		MaxConnections: f.maxConns,
		Logger:         logger,
	}
	if f.addr != "" {
		opts.Host = f.addr
	}
	if f.port != 0 {
		opts.Port = f.port
	}
	if f.check {
		fmt.Println("configuration is valid")
		return nil
	}
	s, err := server.New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	logger.Info("wren started", "version", server.Version, "server_id", s.ID(), "url", s.ClientURL())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	sig := <-sigs
	logger.Info("shutting down", "signal", sig.String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

func newLogger(f *flags) (*slog.Logger, func(), error) {
	level := slog.LevelInfo
	switch strings.ToLower(f.logLevel) {
	case "", "info":
	case "debug", "trace":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, nil, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", f.logLevel)
	}
	if f.debug || f.trace {
		level = slog.LevelDebug
	}
	var w io.Writer = os.Stderr
	closeFn := func() {}
	if f.logFile != "" {
		lf, err := os.OpenFile(f.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		w = lf
		closeFn = func() { lf.Close() }
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeFn, nil
}
