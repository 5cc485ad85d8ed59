package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wrenmq/wren/cmd/wren/natsc"
	"github.com/wrenmq/wren/jetstore"
)

const dlqUsage = `Usage: wren dlq <command> [options]

Dead letters are messages a consumer gave up on (terminated, or out of
deliveries), copied into the dead-letter stream its stream names
(stream add --dead-letter) with Wren-DLQ-* headers saying why.

Commands:
  ls                           list the dead-letter streams and what they hold
  show <dlq> [--seq n]         print dead letters with why they died
  replay <dlq> (--seq n,... | --all) [--keep]
                               publish them again onto their first subjects

Run wren dlq <command> --help for its options.
`

func runDLQ(args []string, stdout, stderr io.Writer) error {
	return runGroup("dlq", dlqUsage, []subcommand{
		{"ls", dlqLs}, {"list", dlqLs},
		{"show", dlqShow},
		{"replay", dlqReplay},
	}, args, stdout, stderr)
}

func dlqLs(args []string, stdout, stderr io.Writer) error {
	c := newCLI("dlq ls", stdout, stderr, `Usage: wren dlq ls [options]

Lists the dead-letter streams: which streams send to each, how many dead
letters it holds, and when the last one came.

Example:
  wren dlq ls
`+connectionHelp, true)
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	defer c.close()
	json := c.asJSON
	c.asJSON = false
	list, err := c.streamList()
	if err != nil {
		return err
	}
	byName := map[string]*jetstore.StreamInfo{}
	sources := map[string][]string{}
	for _, s := range list {
		byName[s.Config.Name] = s
		if d := s.Config.DeadLetter; d != "" {
			sources[d] = append(sources[d], s.Config.Name)
		}
	}
	names := make([]string, 0, len(sources))
	for d := range sources {
		names = append(names, d)
	}
	sort.Strings(names)
	if json {
		return printJSON(stdout, sources)
	}
	if len(names) == 0 {
		fmt.Fprintln(stdout, "No stream names a dead-letter stream")
		return nil
	}
	var rows [][]string
	for _, d := range names {
		s := byName[d]
		msgs, last := "missing", ""
		if s != nil {
			msgs = strconv.FormatUint(s.State.Msgs, 10)
			if !s.State.LastTime.IsZero() && s.State.Msgs > 0 {
				last = time.Since(s.State.LastTime).Round(time.Second).String() + " ago"
			}
		}
		rows = append(rows, []string{d, strings.Join(sources[d], ","), msgs, last})
	}
	table(stdout, []string{"DEAD-LETTER STREAM", "FROM", "DEAD LETTERS", "LAST"}, rows)
	return nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n", b)
	return nil
}

// storedMsg is a message as STREAM.MSG.GET returns it.
type storedMsg struct {
	Subject string    `json:"subject"`
	Seq     uint64    `json:"seq"`
	Header  []byte    `json:"hdrs"`
	Data    []byte    `json:"data"`
	Time    time.Time `json:"time"`
}

// nextMsg returns the first message of stream at or after seq, or nil
// when there is none.
func (c *cli) nextMsg(stream string, seq uint64) (*storedMsg, error) {
	var r struct {
		Message *storedMsg `json:"message"`
	}
	err := c.api("STREAM.MSG.GET."+stream, map[string]any{"seq": seq, "next_by_subj": ">"}, &r)
	if err != nil && strings.Contains(err.Error(), "(error 10037)") {
		return nil, nil
	}
	return r.Message, err
}

func dlqShow(args []string, stdout, stderr io.Writer) error {
	c := newCLI("dlq show", stdout, stderr, `Usage: wren dlq show <dlq> [options]

Prints dead letters, oldest first: original stream, subject and sequence,
the consumer, how often it was delivered, why it was given up, and the body.

      --seq <n>    start at this sequence (default the first)
      --count <n>  how many to print (default 10; 0 for all)

Examples:
  wren dlq show ORDERS_DLQ
  wren dlq show ORDERS_DLQ --seq 42 --count 1
`+connectionHelp, true)
	from := c.fs.Uint64("seq", 1, "")
	count := c.fs.Int("count", 10, "")
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	defer c.close()
	asJSON := c.asJSON
	c.asJSON = false
	var out []map[string]any
	seq, n := *from, 0
	for *count == 0 || n < *count {
		m, err := c.nextMsg(pos[0], seq)
		if err != nil {
			return err
		}
		if m == nil {
			break
		}
		n++
		seq = m.Seq + 1
		var h natsc.Header
		if len(m.Header) > 0 {
			h, _, _ = natsc.ParseHeader(m.Header)
		}
		if asJSON {
			out = append(out, map[string]any{"seq": m.Seq, "subject": m.Subject, "time": m.Time, "headers": h, "data": string(m.Data)})
			continue
		}
		fmt.Fprintf(stdout, "[%d] %s  subject %s\n", m.Seq, m.Time.Local().Format(time.RFC3339), m.Subject)
		fmt.Fprintf(stdout, "    from stream %s sequence %s, consumer %s, delivered %s times\n",
			h.Get("Wren-DLQ-Stream"), h.Get("Wren-DLQ-Sequence"), h.Get("Wren-DLQ-Consumer"), h.Get("Wren-DLQ-Deliveries"))
		fmt.Fprintf(stdout, "    reason: %s\n", h.Get("Wren-DLQ-Reason"))
		if r := h.Get("Wren-DLQ-Replayed-From"); r != "" {
			fmt.Fprintf(stdout, "    replayed from: %s\n", r)
		}
		fmt.Fprintf(stdout, "    %s\n", m.Data)
	}
	if asJSON {
		return printJSON(stdout, out)
	}
	if n == 0 {
		fmt.Fprintf(stdout, "No dead letters in %s from sequence %d\n", pos[0], *from)
	}
	return nil
}

func dlqReplay(args []string, stdout, stderr io.Writer) error {
	c := newCLI("dlq replay", stdout, stderr, `Usage: wren dlq replay <dlq> (--seq <n>[,<n>...] | --all) [--keep] [options]

Publishes dead letters back onto the subjects they were first published
to, so the stream that captures them stores them again and its consumers
get another chance. Each leaves the dead-letter stream once its stream
confirmed it (unless --keep). Progress is shown for large replays.

      --seq <list>  sequences to replay, comma separated
      --all         every dead letter in the stream
      --keep        leave replayed messages in the dead-letter stream

Examples:
  wren dlq replay ORDERS_DLQ --seq 3,4
  wren dlq replay ORDERS_DLQ --all
`+connectionHelp, true)
	seqList := c.fs.String("seq", "", "")
	all := c.fs.Bool("all", false, "")
	keep := c.fs.Bool("keep", false, "")
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if _, err := replayRequestBody(pos[0], *seqList, *all, *keep); err != nil {
		return usagef("%v", err)
	}
	defer c.close()
	c.asJSON = false
	var seqs []uint64
	if *all {
		// Walk the stream for its sequences, so the replay can go in
		// batches that show progress.
		for seq := uint64(1); ; {
			m, err := c.nextMsg(pos[0], seq)
			if err != nil {
				return err
			}
			if m == nil {
				break
			}
			seqs = append(seqs, m.Seq)
			seq = m.Seq + 1
		}
		if len(seqs) == 0 {
			fmt.Fprintf(stdout, "No dead letters in %s\n", pos[0])
			return nil
		}
	} else {
		for _, s := range strings.Split(*seqList, ",") {
			n, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			seqs = append(seqs, n)
		}
	}
	conn, err := c.connect()
	if err != nil {
		return err
	}
	const batch = 100
	p := newProgress(stderr)
	replayed := 0
	var failed []string
	for start := 0; start < len(seqs); start += batch {
		part := seqs[start:min(start+batch, len(seqs))]
		body, _ := json.Marshal(map[string]any{"seqs": part, "keep": *keep})
		m, err := conn.Request(replayAPI+pos[0], nil, body, max(c.wait, time.Minute))
		if errors.Is(err, natsc.ErrNoResponders) {
			return fmt.Errorf("the server at %s has no stream layer", c.opts.URL)
		}
		if err != nil {
			return err
		}
		var r replayReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			return fmt.Errorf("bad reply %q: %w", m.Data, err)
		}
		if r.Error != nil {
			return fmt.Errorf("%s (error %d)", r.Error.Description, r.Error.ErrCode)
		}
		replayed += r.Replayed
		for _, f := range r.Failed {
			failed = append(failed, fmt.Sprintf("  seq %d: %s", f.Seq, f.Error))
		}
		if len(seqs) > batch {
			p.update("replayed %d/%d", start+len(part), len(seqs))
		}
	}
	p.done()
	fmt.Fprintf(stdout, "Replayed %d of %d dead letters from %s\n", replayed, len(seqs), pos[0])
	for _, f := range failed {
		fmt.Fprintln(stdout, f)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d dead letters were not replayed", len(failed))
	}
	return nil
}
