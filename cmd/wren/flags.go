package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/wrenmq/wren/conf"
)

// flags are the command line options. Names match the reference server's
// where they exist, so scripts and service units written for it keep
// working. Every option except the few that steer the command itself sets
// one config key and overrides the file.
type flags struct {
	configFile  string
	check       bool
	showVersion bool
	// overrides are the config settings given on the command line, in
	// order; apply runs them on a loaded Config.
	overrides []override
}

type override struct {
	flag, value string
	set         setting
}

// setting is one config key a flag sets.
type setting struct {
	key   string
	apply func(c *conf.Config, v string) error
}

// settings are the flags that set config keys, with their aliases.
var settings = []struct {
	names []string
	bool  bool
	setting
}{
	{[]string{"a", "addr", "net"}, false, setting{"host", setString(func(c *conf.Config) *string { return &c.Host })}},
	{[]string{"p", "port"}, false, setting{"port", setInt(func(c *conf.Config) *int { return &c.Port })}},
	{[]string{"n", "name", "server_name"}, false, setting{"server_name", setString(func(c *conf.Config) *string { return &c.ServerName })}},
	{[]string{"m", "http_port"}, false, setting{"monitor.port", setInt(func(c *conf.Config) *int { return &c.Monitor.Port })}},
	{[]string{"max_payload"}, false, setting{"limits.max_payload", setSize(func(c *conf.Config) *conf.Size { return &c.Limits.MaxPayload })}},
	{[]string{"max_control_line"}, false, setting{"limits.max_control_line", setSize(func(c *conf.Config) *conf.Size { return &c.Limits.MaxControlLine })}},
	{[]string{"max_connections"}, false, setting{"limits.max_connections", setInt(func(c *conf.Config) *int { return &c.Limits.MaxConnections })}},
	{[]string{"max_subscriptions"}, false, setting{"limits.max_subscriptions", setInt(func(c *conf.Config) *int { return &c.Limits.MaxSubscriptions })}},
	{[]string{"max_pending"}, false, setting{"limits.max_pending", setSize(func(c *conf.Config) *conf.Size { return &c.Limits.MaxPending })}},
	{[]string{"ping_interval"}, false, setting{"limits.ping_interval", setDuration(func(c *conf.Config) *conf.Duration { return &c.Limits.PingInterval })}},
	{[]string{"gomemlimit"}, false, setting{"limits.gomemlimit", setSize(func(c *conf.Config) *conf.Size { return &c.Limits.GoMemLimit })}},
	{[]string{"js", "jetstream"}, true, setting{"jetstream.enabled", setBool(func(c *conf.Config) *bool { return &c.JetStream.Enabled })}},
	{[]string{"sd", "store_dir"}, false, setting{"jetstream.store_dir", func(c *conf.Config, v string) error {
		c.JetStream.StoreDir = v
		c.JetStream.Enabled = true
		return nil
	}}},
	{[]string{"l", "log"}, false, setting{"log.file", setString(func(c *conf.Config) *string { return &c.Log.File })}},
	{[]string{"log_level"}, false, setting{"log.level", setString(func(c *conf.Config) *string { return &c.Log.Level })}},
	{[]string{"D", "debug", "V", "trace"}, true, setting{"log.level", func(c *conf.Config, v string) error {
		on, err := strconv.ParseBool(v)
		if err == nil && on {
			c.Log.Level = conf.LevelDebug
		}
		return err
	}}},
	{[]string{"log_format"}, false, setting{"log.format", setString(func(c *conf.Config) *string { return &c.Log.Format })}},
	{[]string{"auth"}, false, setting{"authorization.token", setString(func(c *conf.Config) *string { return &c.Authorization.Token })}},
	{[]string{"user"}, false, setting{"authorization.user", setString(func(c *conf.Config) *string { return &c.Authorization.User })}},
	{[]string{"pass"}, false, setting{"authorization.password", setString(func(c *conf.Config) *string { return &c.Authorization.Password })}},
	{[]string{"tlscert"}, false, setting{"tls.cert_file", setString(func(c *conf.Config) *string { return &c.TLS.CertFile })}},
	{[]string{"tlskey"}, false, setting{"tls.key_file", setString(func(c *conf.Config) *string { return &c.TLS.KeyFile })}},
	{[]string{"tlscacert"}, false, setting{"tls.ca_file", setString(func(c *conf.Config) *string { return &c.TLS.CAFile })}},
	{[]string{"tlsverify"}, true, setting{"tls.verify", setBool(func(c *conf.Config) *bool { return &c.TLS.Verify })}},
	{[]string{"tls_handshake_first"}, true, setting{"tls.handshake_first", setBool(func(c *conf.Config) *bool { return &c.TLS.HandshakeFirst })}},
}

func setString(field func(*conf.Config) *string) func(*conf.Config, string) error {
	return func(c *conf.Config, v string) error { *field(c) = v; return nil }
}

func setInt(field func(*conf.Config) *int) func(*conf.Config, string) error {
	return func(c *conf.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("expected an integer")
		}
		*field(c) = n
		return nil
	}
}

func setBool(field func(*conf.Config) *bool) func(*conf.Config, string) error {
	return func(c *conf.Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("expected true or false")
		}
		*field(c) = b
		return nil
	}
}

func setSize(field func(*conf.Config) *conf.Size) func(*conf.Config, string) error {
	return func(c *conf.Config, v string) error {
		n, err := conf.ParseSize(v)
		if err != nil {
			return err
		}
		*field(c) = n
		return nil
	}
}

func setDuration(field func(*conf.Config) *conf.Duration) func(*conf.Config, string) error {
	return func(c *conf.Config, v string) error {
		d, err := conf.ParseDuration(v)
		if err != nil {
			return err
		}
		*field(c) = d
		return nil
	}
}

func parseFlags(args []string, out io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("wren", flag.ContinueOnError)
	// The caller prints errors; help goes to out.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, n := range []string{"c", "config"} {
		fs.StringVar(&f.configFile, n, "", "")
	}
	for _, n := range []string{"t", "check"} {
		fs.BoolVar(&f.check, n, false, "")
	}
	for _, n := range []string{"v", "version"} {
		fs.BoolVar(&f.showVersion, n, false, "")
	}
	for _, s := range settings {
		for _, n := range s.names {
			record := func(v string) error {
				// Check the value now, so a typo fails at parse time
				// with the flag's name.
				if err := s.apply(conf.Default(), v); err != nil {
					return err
				}
				f.overrides = append(f.overrides, override{flag: n, value: v, set: s.setting})
				return nil
			}
			if s.bool {
				fs.BoolFunc(n, "", record)
			} else {
				fs.Func(n, "", record)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(out)
			return nil, err
		}
		return nil, fmt.Errorf("%w (see wren --help)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see wren --help)", fs.Arg(0))
	}
	return f, nil
}

// apply sets the config keys given on the command line.
func (f *flags) apply(c *conf.Config) {
	for _, o := range f.overrides {
		// Values were checked when the flags were parsed.
		_ = o.set.apply(c, o.value)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: wren [options]                 run the daemon
       wren <command> [arguments]     talk to a running daemon

Commands (each has --help with examples):
  pub <subject> [body]           publish a message
  sub <subject>                  print the messages of a subject
  req <subject> [body]           send a request, print the reply
  reply <subject> [body]         answer requests
  stream ls|info|add|rm|purge    manage streams
  consumer ls|info|next          inspect consumers, fetch messages
  dlq ls|show|replay             inspect and re-drive dead letters
  top                            live view from the monitoring port
  nkey [--out <file>]            make an nkey pair
  replay --stream <dlq> ...      re-drive dead letters (as dlq replay)
  version                        print the version
  --signal <sig>[=<pid>]         signal a running daemon (ldm, reopen, reload, stop)

Wren is a NATS-protocol pub/sub daemon with an optional durable stream
layer. With no options it listens on 0.0.0.0:4222 with built-in defaults.
Options override the configuration file; each names the key it sets.

  -c, --config <file>           configuration file (TOML)
  -t, --check                   validate the configuration and exit

Server:
  -a, --addr, --net <host>      host                     (default 0.0.0.0)
  -p, --port <port>             port                     (default 4222)
  -n, --name <name>             server_name
  -m, --http_port <port>        monitor.port             (default off)
      --max_payload <size>      limits.max_payload       (default 1MB)
      --max_control_line <size> limits.max_control_line  (default 4KB)
      --max_connections <n>     limits.max_connections   (default 65536)
      --max_subscriptions <n>   limits.max_subscriptions (default unlimited)
      --max_pending <size>      limits.max_pending       (default 64MB)
      --ping_interval <dur>     limits.ping_interval     (default 2m)
      --gomemlimit <size>       limits.gomemlimit        (default unset)

Security:
      --auth <token>            authorization.token
      --user <user>             authorization.user
      --pass <password>         authorization.password
      --tlscert <file>          tls.cert_file
      --tlskey <file>           tls.key_file
      --tlscacert <file>        tls.ca_file
      --tlsverify               tls.verify
      --tls_handshake_first     tls.handshake_first

Stream layer:
  -js, --jetstream              jetstream.enabled
  -sd, --store_dir <dir>        jetstream.store_dir (and enables streams)

Logging:
  -l, --log <file>              log.file                 (default stderr)
      --log_level <level>       log.level: debug, info, warn or error
      --log_format <format>     log.format: text or json
  -D, --debug, -V, --trace      log.level = debug

Other:
  -v, --version                 print version and exit
  -h, --help                    show this help

Signals: SIGHUP reloads the configuration file; SIGUSR1 reopens the log
file; SIGUSR2 enters lame-duck mode (clients are moved away over
shutdown.lame_duck_duration, then wren exits 0); SIGINT and SIGTERM stop
within shutdown.drain_timeout. wren --signal ldm=<pid> sends SIGUSR2
(see wren --signal --help).
`)
}
