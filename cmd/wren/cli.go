package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/wrenmq/wren/cmd/wren/natsc"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

// The operator commands in the daemon's binary: wren pub, sub, req,
// reply, stream, consumer, dlq and top. Connection flags are named as the
// nats CLI names them and read the same environment variables.

// usageError is a mistake on the command line: exit code 2, and a pointer
// to --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// cli is one command's context: its flags, output and connection options.
type cli struct {
	name   string
	fs     *flag.FlagSet
	stdout io.Writer
	stderr io.Writer
	opts   natsc.Options
	wait   time.Duration
	asJSON bool
	conn   *natsc.Conn
}

// newCLI makes the flag set of command name, with the connection flags
// (unless local), --timeout and --json.
func newCLI(name string, stdout, stderr io.Writer, usage string, conn bool) *cli {
	c := &cli{name: name, fs: flag.NewFlagSet("wren "+name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.fs.SetOutput(io.Discard)
	c.fs.Usage = func() {}
	if conn {
		o := &c.opts
		c.fs.StringVar(&o.URL, "server", envOr("NATS_URL", "nats://127.0.0.1:4222"), "")
		c.fs.StringVar(&o.URL, "s", envOr("NATS_URL", "nats://127.0.0.1:4222"), "")
		c.fs.StringVar(&o.User, "user", os.Getenv("NATS_USER"), "")
		c.fs.StringVar(&o.Password, "password", os.Getenv("NATS_PASSWORD"), "")
		c.fs.StringVar(&o.Token, "token", os.Getenv("NATS_TOKEN"), "")
		c.fs.StringVar(&o.NkeySeed, "nkey", os.Getenv("NATS_NKEY"), "")
		c.fs.StringVar(&o.Creds, "creds", os.Getenv("NATS_CREDS"), "")
		c.fs.StringVar(&o.TLSCert, "tlscert", os.Getenv("NATS_CERT"), "")
		c.fs.StringVar(&o.TLSKey, "tlskey", os.Getenv("NATS_KEY"), "")
		c.fs.StringVar(&o.TLSCA, "tlsca", os.Getenv("NATS_CA"), "")
		c.fs.BoolVar(&o.TLSFirst, "tlsfirst", false, "")
		c.fs.DurationVar(&c.wait, "timeout", 5*time.Second, "")
		c.fs.BoolVar(&c.asJSON, "json", false, "")
	}
	c.fs.Usage = func() { fmt.Fprint(stdout, strings.TrimLeft(usage, "\n")) }
	return c
}

// connectionHelp is the help of the connection flags, for each command's
// --help.
const connectionHelp = `
Connection (as the nats CLI):
  -s, --server <url>     server URL, nats:// or tls:// (env NATS_URL; default nats://127.0.0.1:4222)
      --user <name>      user name (env NATS_USER)
      --password <pw>    password (env NATS_PASSWORD)
      --token <token>    authentication token (env NATS_TOKEN)
      --nkey <file>      file holding a user nkey seed (env NATS_NKEY)
      --creds <file>     .creds file, a user JWT and its seed, for servers in operator mode (env NATS_CREDS)
      --tlscert <file>   client certificate (env NATS_CERT)
      --tlskey <file>    client certificate key (env NATS_KEY)
      --tlsca <file>     CAs that verify the server (env NATS_CA)
      --tlsfirst         TLS handshake before the server's INFO
      --timeout <dur>    time allowed to connect and for each answer (default 5s)
      --json             print the server's JSON instead of a table
`

// parse parses args, flags and positional arguments in any order, and
// checks the count of positional ones.
func (c *cli) parse(args []string, minArgs, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.fs.Usage()
				return nil, flag.ErrHelp
			}
			return nil, usagef("%v", err)
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minArgs {
		return nil, usagef("missing argument")
	}
	if maxArgs >= 0 && len(pos) > maxArgs {
		return nil, usagef("unexpected argument %q", pos[maxArgs])
	}
	return pos, nil
}

// connect connects once per command.
func (c *cli) connect() (*natsc.Conn, error) {
	if c.conn != nil {
		return c.conn, nil
	}
	c.opts.Name = "wren " + c.name
	c.opts.Version = server.Version
	if c.opts.Timeout == 0 {
		c.opts.Timeout = c.wait
	}
	conn, err := natsc.Connect(c.opts)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	return conn, nil
}

func (c *cli) close() {
	if c.conn != nil {
		c.conn.Close()
	}
}

// api sends a JetStream API request ($JS.API.<subject>) and decodes the
// answer into out; an API error comes back as an error with its code.
func (c *cli) api(subject string, req any, out any) error {
	conn, err := c.connect()
	if err != nil {
		return err
	}
	var body []byte
	if req != nil {
		if body, err = json.Marshal(req); err != nil {
			return err
		}
	}
	m, err := conn.Request("$JS.API."+subject, nil, body, c.wait)
	if errors.Is(err, natsc.ErrNoResponders) {
		return fmt.Errorf("the server at %s has no stream layer (start it with --jetstream)", c.opts.URL)
	}
	if err != nil {
		return err
	}
	var e struct {
		Error *jetstore.APIError `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return fmt.Errorf("bad answer to %s: %w", subject, err)
	}
	if e.Error != nil {
		return fmt.Errorf("%s (error %d)", e.Error.Description, e.Error.ErrCode)
	}
	if c.asJSON {
		var v any
		json.Unmarshal(m.Data, &v)
		pretty, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintf(c.stdout, "%s\n", pretty)
	}
	if out != nil {
		return json.Unmarshal(m.Data, out)
	}
	return nil
}

// subcommand is one of a group's verbs (stream ls, stream add, ...).
type subcommand struct {
	name string
	run  func(args []string, stdout, stderr io.Writer) error
}

// runGroup dispatches `wren <group> <verb> ...`.
func runGroup(group, usage string, verbs []subcommand, args []string, stdout io.Writer, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, strings.TrimLeft(usage, "\n"))
		if len(args) == 0 {
			return usagef("wren %s needs a command", group)
		}
		return nil
	}
	for _, v := range verbs {
		if v.name == args[0] {
			return v.run(args[1:], stdout, stderr)
		}
	}
	return usagef("unknown command %q for wren %s", args[0], group)
}

// progress prints a line that rewrites itself on a terminal (and prints
// plainly elsewhere), for operations that take a while.
type progress struct {
	w    io.Writer
	tty  bool
	last int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(p.w, "\r%-*s", p.last, s)
		p.last = len(s)
		return
	}
	fmt.Fprintln(p.w, s)
}

func (p *progress) done() {
	if p.tty && p.last > 0 {
		fmt.Fprintln(p.w)
	}
}

// table prints rows in aligned columns.
func table(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range append([][]string{header}, rows...) {
		var b strings.Builder
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", width[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// humanBytes prints a byte count in binary units.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
