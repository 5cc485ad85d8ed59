package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wrenmq/wren/jetstore"
)

const streamUsage = `Usage: wren stream <command> [options]

Commands:
  ls                      list the streams with their depth
  info <stream>           show a stream's configuration and state
  add <stream>            create a stream (--subjects, limits, ...)
  rm <stream> --force     delete a stream and its messages
  purge <stream> --force  remove a stream's messages (all, by subject, or up to a sequence)

Run wren stream <command> --help for its options.
`

func runStream(args []string, stdout, stderr io.Writer) error {
	return runGroup("stream", streamUsage, []subcommand{
		{"ls", streamLs}, {"list", streamLs},
		{"info", streamInfo},
		{"add", streamAdd}, {"create", streamAdd},
		{"rm", streamRm}, {"delete", streamRm},
		{"purge", streamPurge},
	}, args, stdout, stderr)
}

// streamList pages through STREAM.LIST.
func (c *cli) streamList() ([]*jetstore.StreamInfo, error) {
	var all []*jetstore.StreamInfo
	for {
		var r struct {
			Total   int                    `json:"total"`
			Streams []*jetstore.StreamInfo `json:"streams"`
		}
		if err := c.api("STREAM.LIST", map[string]int{"offset": len(all)}, &r); err != nil {
			return nil, err
		}
		all = append(all, r.Streams...)
		if len(r.Streams) == 0 || len(all) >= r.Total {
			return all, nil
		}
	}
}

func streamLs(args []string, stdout, stderr io.Writer) error {
	c := newCLI("stream ls", stdout, stderr, `Usage: wren stream ls [options]

Lists the streams: subjects, messages, bytes, consumers, last message.

Example:
  wren stream ls -s nats://gateway:4222
`+connectionHelp, true)
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	defer c.close()
	list, err := c.streamList()
	if err != nil || c.asJSON {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "No streams defined")
		return nil
	}
	var rows [][]string
	for _, s := range list {
		last := "never"
		if !s.State.LastTime.IsZero() {
			last = time.Since(s.State.LastTime).Round(time.Second).String() + " ago"
		}
		rows = append(rows, []string{s.Config.Name, strings.Join(s.Config.Subjects, ","), strconv.FormatUint(s.State.Msgs, 10),
			humanBytes(s.State.Bytes), strconv.Itoa(s.State.Consumers), last})
	}
	table(stdout, []string{"NAME", "SUBJECTS", "MESSAGES", "BYTES", "CONSUMERS", "LAST MESSAGE"}, rows)
	return nil
}

func streamInfo(args []string, stdout, stderr io.Writer) error {
	c := newCLI("stream info", stdout, stderr, `Usage: wren stream info <stream> [options]

Shows a stream's configuration and state.

Example:
  wren stream info ORDERS
`+connectionHelp, true)
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	defer c.close()
	var si jetstore.StreamInfo
	if err := c.api("STREAM.INFO."+pos[0], nil, &si); err != nil || c.asJSON {
		return err
	}
	printStreamInfo(stdout, &si)
	return nil
}

func printStreamInfo(w io.Writer, si *jetstore.StreamInfo) {
	cfg, st := si.Config, si.State
	limit := func(n int64) string {
		if n <= 0 {
			return "unlimited"
		}
		return strconv.FormatInt(n, 10)
	}
	age := "unlimited"
	if cfg.MaxAge > 0 {
		age = cfg.MaxAge.String()
	}
	fmt.Fprintf(w, "Stream %s, created %s\n\nConfiguration:\n", cfg.Name, si.Created.Local().Format(time.RFC3339))
	rows := [][]string{
		{"Subjects:", strings.Join(cfg.Subjects, ", ")},
		{"Storage:", cfg.Storage},
		{"Retention:", cfg.Retention},
		{"Discard:", cfg.Discard},
		{"Max messages:", limit(cfg.MaxMsgs)},
		{"Max bytes:", limit(cfg.MaxBytes)},
		{"Max age:", age},
		{"Max per subject:", limit(cfg.MaxMsgsPerSubject)},
		{"Duplicate window:", cfg.Duplicates.String()},
	}
	if cfg.DeadLetter != "" {
		rows = append(rows, []string{"Dead letters to:", cfg.DeadLetter})
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-18s %s\n", r[0], r[1])
	}
	fmt.Fprintf(w, "\nState:\n  %-18s %d\n  %-18s %s\n  %-18s %d\n  %-18s %d\n  %-18s %d\n  %-18s %d\n",
		"Messages:", st.Msgs, "Bytes:", humanBytes(st.Bytes), "First sequence:", st.FirstSeq,
		"Last sequence:", st.LastSeq, "Deleted:", st.NumDeleted, "Consumers:", st.Consumers)
}

func streamAdd(args []string, stdout, stderr io.Writer) error {
	c := newCLI("stream add", stdout, stderr, `Usage: wren stream add <stream> --subjects <s>[,<s>...] [options]
       wren stream add --config <file.json>

Creates a stream.

      --subjects <list>     subjects it captures, comma separated (default: the name)
      --retention <r>       limits, workqueue or interest (default limits)
      --storage <s>         file or memory (default file)
      --max-msgs <n>        most messages kept (default unlimited)
      --max-bytes <n>       most bytes kept (default unlimited)
      --max-age <dur>       oldest message kept, e.g. 24h (default unlimited)
      --max-msgs-per-subject <n>
      --discard <d>         old or new: what a full stream drops (default old)
      --dupe-window <dur>   duplicate window for Nats-Msg-Id (default 2m)
      --dead-letter <name>  stream receiving what consumers give up on
      --compression <c>     none or s2
      --config <file>       the whole configuration as JSON (as the API takes it)

Examples:
  wren stream add ORDERS --subjects 'orders.>' --max-age 72h --dead-letter ORDERS_DLQ
  wren stream add ORDERS_DLQ --subjects orders_dlq
`+connectionHelp, true)
	cfg := jetstore.StreamConfig{}
	subjects := c.fs.String("subjects", "", "")
	c.fs.StringVar(&cfg.Retention, "retention", "limits", "")
	c.fs.StringVar(&cfg.Storage, "storage", "file", "")
	c.fs.Int64Var(&cfg.MaxMsgs, "max-msgs", -1, "")
	c.fs.Int64Var(&cfg.MaxBytes, "max-bytes", -1, "")
	c.fs.DurationVar(&cfg.MaxAge, "max-age", 0, "")
	c.fs.Int64Var(&cfg.MaxMsgsPerSubject, "max-msgs-per-subject", -1, "")
	c.fs.StringVar(&cfg.Discard, "discard", "old", "")
	c.fs.DurationVar(&cfg.Duplicates, "dupe-window", 0, "")
	c.fs.StringVar(&cfg.DeadLetter, "dead-letter", "", "")
	c.fs.StringVar(&cfg.Compression, "compression", "", "")
	file := c.fs.String("config", "", "")
	pos, err := c.parse(args, 0, 1)
	if err != nil {
		return err
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		cfg = jetstore.StreamConfig{}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		}
	}
	if len(pos) == 1 {
		cfg.Name = pos[0]
	}
	if cfg.Name == "" {
		return usagef("name the stream")
	}
	if *subjects != "" {
		cfg.Subjects = strings.Split(*subjects, ",")
	}
	if len(cfg.Subjects) == 0 {
		cfg.Subjects = []string{cfg.Name}
	}
	cfg.MaxConsumers, cfg.Replicas, cfg.MaxMsgSize = -1, 1, -1
	defer c.close()
	var si jetstore.StreamInfo
	if err := c.api("STREAM.CREATE."+cfg.Name, &cfg, &si); err != nil || c.asJSON {
		return err
	}
	fmt.Fprintf(stdout, "Stream %s created\n\n", cfg.Name)
	printStreamInfo(stdout, &si)
	return nil
}

func streamRm(args []string, stdout, stderr io.Writer) error {
	c := newCLI("stream rm", stdout, stderr, `Usage: wren stream rm <stream> --force

Deletes a stream, its consumers and its messages. Asks for --force.

Example:
  wren stream rm ORDERS_TEST --force
`+connectionHelp, true)
	force := c.fs.Bool("force", false, "")
	c.fs.BoolVar(force, "f", false, "")
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if !*force {
		return usagef("deleting stream %s removes all its messages: add --force", pos[0])
	}
	defer c.close()
	if err := c.api("STREAM.DELETE."+pos[0], nil, nil); err != nil || c.asJSON {
		return err
	}
	fmt.Fprintf(stdout, "Stream %s deleted\n", pos[0])
	return nil
}

func streamPurge(args []string, stdout, stderr io.Writer) error {
	c := newCLI("stream purge", stdout, stderr, `Usage: wren stream purge <stream> --force [options]

Removes messages from a stream: all of them, or only those of --subject,
keeping the newest --keep, or those before sequence --seq.

      --subject <s>  only messages of this subject (wildcards allowed)
      --keep <n>     keep the newest n
      --seq <n>      remove those with a sequence below n
  -f, --force        do it (asked for, since it cannot be undone)

Examples:
  wren stream purge ORDERS --force
  wren stream purge ORDERS --subject orders.test --keep 10 --force
`+connectionHelp, true)
	subject := c.fs.String("subject", "", "")
	keep := c.fs.Uint64("keep", 0, "")
	seq := c.fs.Uint64("seq", 0, "")
	force := c.fs.Bool("force", false, "")
	c.fs.BoolVar(force, "f", false, "")
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if !*force {
		return usagef("purging stream %s cannot be undone: add --force", pos[0])
	}
	if *keep > 0 && *seq > 0 {
		return usagef("give --keep or --seq, not both")
	}
	defer c.close()
	// The server answers once the purge is done; say so meanwhile.
	p := newProgress(stderr)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.update("purging %s... %s", pos[0], time.Since(start).Round(time.Second))
			}
		}
	}()
	if c.wait < time.Minute {
		c.wait = time.Minute // a purge of a large stream takes a while
	}
	var r struct {
		Purged uint64 `json:"purged"`
	}
	err = c.api("STREAM.PURGE."+pos[0], map[string]any{"filter": *subject, "keep": *keep, "seq": *seq}, &r)
	close(done)
	p.done()
	if err != nil || c.asJSON {
		return err
	}
	fmt.Fprintf(stdout, "Purged %d messages from %s\n", r.Purged, pos[0])
	return nil
}
