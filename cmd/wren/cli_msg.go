package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/wrenmq/wren/cmd/wren/natsc"
)

// headerFlag collects -H/--header "Key:Value" flags.
type headerFlag struct{ h natsc.Header }

func (f *headerFlag) String() string { return "" }

func (f *headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q: want Key:Value", v)
	}
	if f.h == nil {
		f.h = natsc.Header{}
	}
	k = strings.TrimSpace(k)
	f.h[k] = append(f.h[k], strings.TrimSpace(val))
	return nil
}

// bodyArg is the message body: the argument, or standard input for "-"
// or when there is none and input is not a terminal.
func bodyArg(args []string, n int) ([]byte, error) {
	if len(args) > n && args[n] != "-" {
		return []byte(args[n]), nil
	}
	if len(args) <= n {
		if fi, err := os.Stdin.Stat(); err != nil || fi.Mode()&os.ModeCharDevice != 0 {
			return nil, nil
		}
	}
	return io.ReadAll(os.Stdin)
}

func runPub(args []string, stdout, stderr io.Writer) error {
	c := newCLI("pub", stdout, stderr, `Usage: wren pub <subject> [<body>|-] [options]

Publishes a message (the body, standard input with -, or an empty one).

  -H, --header <k:v>   add a header (repeatable)
      --reply <subj>   reply subject
      --count <n>      publish n copies (default 1); "{{i}}" in the body
                       becomes the copy's number, from 1

Examples:
  wren pub sensors.plant1.temp 21.5
  wren pub orders.new --count 1000 'order {{i}}'
  echo '{"id":7}' | wren pub jobs.new -
`+connectionHelp, true)
	var hdr headerFlag
	c.fs.Var(&hdr, "header", "")
	c.fs.Var(&hdr, "H", "")
	reply := c.fs.String("reply", "", "")
	count := c.fs.Int("count", 1, "")
	pos, err := c.parse(args, 1, 2)
	if err != nil {
		return err
	}
	if *count < 1 {
		return usagef("--count must be at least 1")
	}
	body, err := bodyArg(pos, 1)
	if err != nil {
		return err
	}
	conn, err := c.connect()
	if err != nil {
		return err
	}
	defer c.close()
	templ := strings.Contains(string(body), "{{i}}")
	p := newProgress(stderr)
	for i := 1; i <= *count; i++ {
		b := body
		if templ {
			b = []byte(strings.ReplaceAll(string(body), "{{i}}", fmt.Sprint(i)))
		}
		if err := conn.Publish(pos[0], *reply, hdr.h, b); err != nil {
			return err
		}
		if *count >= 10000 && i%10000 == 0 {
			p.update("published %d/%d", i, *count)
		}
	}
	if err := conn.Flush(c.wait); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	p.done()
	if *count == 1 {
		fmt.Fprintf(stdout, "Published %d bytes to %q\n", len(body), pos[0])
	} else {
		fmt.Fprintf(stdout, "Published %d messages to %q\n", *count, pos[0])
	}
	return nil
}

// printMsg prints a received message as the nats CLI does, or only its
// body with raw.
func printMsg(w io.Writer, n int, m *natsc.Msg, raw bool) {
	if raw {
		fmt.Fprintf(w, "%s\n", m.Data)
		return
	}
	fmt.Fprintf(w, "[#%d] Received on %q", n, m.Subject)
	if m.Reply != "" {
		fmt.Fprintf(w, " with reply %q", m.Reply)
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range m.Header[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	if len(keys) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s\n\n", m.Data)
}

// interrupted is closed on SIGINT or SIGTERM.
func interrupted() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

func runSub(args []string, stdout, stderr io.Writer) error {
	c := newCLI("sub", stdout, stderr, `Usage: wren sub <subject> [options]

Subscribes and prints each message until interrupted (or --count).

      --queue <group>  join a queue group
      --count <n>      exit after n messages
      --raw            print only the bodies

Examples:
  wren sub 'sensors.>'
  wren sub jobs.new --queue workers --count 10 --raw
`+connectionHelp, true)
	queue := c.fs.String("queue", "", "")
	count := c.fs.Int("count", 0, "")
	raw := c.fs.Bool("raw", false, "")
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	conn, err := c.connect()
	if err != nil {
		return err
	}
	defer c.close()
	sub, err := conn.Subscribe(pos[0], *queue, 256)
	if err != nil {
		return err
	}
	if err := conn.Flush(c.wait); err != nil {
		return fmt.Errorf("subscribe to %q: %w", pos[0], err)
	}
	if !*raw {
		fmt.Fprintf(stderr, "Subscribing on %q\n", pos[0])
	}
	sigs, stop := interrupted()
	defer stop()
	for n := 1; *count == 0 || n <= *count; n++ {
		select {
		case m, ok := <-sub.C:
			if !ok {
				return fmt.Errorf("connection lost: %v", conn.Err())
			}
			printMsg(stdout, n, m, *raw)
		case <-sigs:
			return nil
		}
	}
	return nil
}

func runReq(args []string, stdout, stderr io.Writer) error {
	c := newCLI("req", stdout, stderr, `Usage: wren req <subject> [<body>|-] [options]

Sends a request and prints the first reply. Exits 1 when nobody answers
(no responders) or no reply comes within --timeout.

  -H, --header <k:v>   add a header (repeatable)
      --raw            print only the reply's body

Examples:
  wren req svc.time ''
  wren req orders.lookup '{"id":7}' --timeout 2s
`+connectionHelp, true)
	var hdr headerFlag
	c.fs.Var(&hdr, "header", "")
	c.fs.Var(&hdr, "H", "")
	raw := c.fs.Bool("raw", false, "")
	pos, err := c.parse(args, 1, 2)
	if err != nil {
		return err
	}
	body, err := bodyArg(pos, 1)
	if err != nil {
		return err
	}
	conn, err := c.connect()
	if err != nil {
		return err
	}
	defer c.close()
	m, err := conn.Request(pos[0], hdr.h, body, c.wait)
	if errors.Is(err, natsc.ErrNoResponders) {
		return fmt.Errorf("no responders: nobody subscribes to %q", pos[0])
	}
	if errors.Is(err, natsc.ErrTimeout) {
		return fmt.Errorf("no reply to %q within %v", pos[0], c.wait)
	}
	if err != nil {
		return err
	}
	printMsg(stdout, 1, m, *raw)
	return nil
}

func runReply(args []string, stdout, stderr io.Writer) error {
	c := newCLI("reply", stdout, stderr, `Usage: wren reply <subject> [<body>] [options]

Answers every request on subject with body ("{{request}}" in it becomes
the request's body), or echoes the request with --echo, until interrupted
(or --count).

      --queue <group>  join a queue group (default "wren-reply")
      --echo           answer with the request's own body and headers
      --count <n>      exit after n requests

Examples:
  wren reply svc.ping pong
  wren reply svc.echo --echo
  wren reply greet 'hello, {{request}}' --count 1
`+connectionHelp, true)
	queue := c.fs.String("queue", "wren-reply", "")
	echo := c.fs.Bool("echo", false, "")
	count := c.fs.Int("count", 0, "")
	pos, err := c.parse(args, 1, 2)
	if err != nil {
		return err
	}
	if !*echo && len(pos) < 2 {
		return usagef("give a reply body or --echo")
	}
	conn, err := c.connect()
	if err != nil {
		return err
	}
	defer c.close()
	sub, err := conn.Subscribe(pos[0], *queue, 256)
	if err != nil {
		return err
	}
	if err := conn.Flush(c.wait); err != nil {
		return fmt.Errorf("subscribe to %q: %w", pos[0], err)
	}
	fmt.Fprintf(stderr, "Listening on %q in group %q\n", pos[0], *queue)
	sigs, stop := interrupted()
	defer stop()
	for n := 1; *count == 0 || n <= *count; n++ {
		select {
		case m, ok := <-sub.C:
			if !ok {
				return fmt.Errorf("connection lost: %v", conn.Err())
			}
			if m.Reply == "" {
				n--
				continue
			}
			var hdr natsc.Header
			body := m.Data
			if *echo {
				hdr = m.Header
			} else {
				body = []byte(strings.ReplaceAll(pos[1], "{{request}}", string(m.Data)))
			}
			if err := conn.Publish(m.Reply, "", hdr, body); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "[#%d] answered a request on %q\n", n, m.Subject)
		case <-sigs:
			return nil
		}
	}
	return conn.Flush(time.Second)
}
