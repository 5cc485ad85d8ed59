package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// replayAPI is where a running daemon takes dead-letter replays.
const replayAPI = "$WREN.API.DLQ.REPLAY."

// replayReply is the daemon's answer to a replay.
type replayReply struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
	Replayed int `json:"replayed"`
	Failed   []struct {
		Seq   uint64 `json:"seq"`
		Error string `json:"error"`
	} `json:"failed"`
}

// runReplay re-drives dead letters: it asks a running daemon to publish
// messages of a dead-letter stream back onto their original subjects.
func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wren replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("server", envOr("NATS_URL", "nats://127.0.0.1:4222"), "URL of the running daemon")
	stream := fs.String("stream", "", "the dead-letter stream to replay from (required)")
	seqList := fs.String("seq", "", "sequence(s) to replay, comma separated")
	all := fs.Bool("all", false, "replay every message in the stream")
	keep := fs.Bool("keep", false, "leave replayed messages in the dead-letter stream")
	user := fs.String("user", "", "user name")
	pass := fs.String("password", "", "password")
	token := fs.String("token", "", "authentication token")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the daemon")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: wren replay --stream <dead-letter stream> (--seq <n>[,<n>...] | --all) [options]

Publishes dead letters back onto the subjects they were first published to,
so the stream that captures them stores them again and its consumers get
another chance. A message leaves the dead-letter stream once its stream
confirmed it (unless --keep). Needs a running daemon.

Options:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("replay: unexpected argument %q", fs.Arg(0))
	}
	req, err := replayRequestBody(*stream, *seqList, *all, *keep)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	data, err := natsRequest(requestOpts{url: *url, user: *user, pass: *pass, token: *token, name: "wren replay"},
		replayAPI+*stream, req, *timeout)
	if err != nil {
		if errors.Is(err, errNoResponders) {
			return fmt.Errorf("replay: the server at %s has no stream layer", *url)
		}
		return fmt.Errorf("replay: %w", err)
	}
	var r replayReply
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("replay: bad reply %q: %w", data, err)
	}
	if r.Error != nil {
		return fmt.Errorf("replay: %s (%d)", r.Error.Description, r.Error.ErrCode)
	}
	fmt.Fprintf(stdout, "replayed %d message(s) from %s\n", r.Replayed, *stream)
	for _, f := range r.Failed {
		fmt.Fprintf(stdout, "  seq %d: %s\n", f.Seq, f.Error)
	}
	if len(r.Failed) > 0 {
		return fmt.Errorf("replay: %d message(s) failed", len(r.Failed))
	}
	return nil
}

// replayRequestBody builds the replay request from the flags.
func replayRequestBody(stream, seqList string, all, keep bool) ([]byte, error) {
	if stream == "" {
		return nil, errors.New("--stream is required")
	}
	if strings.ContainsAny(stream, ".*> \t") {
		return nil, fmt.Errorf("invalid stream name %q", stream)
	}
	var req struct {
		Seqs []uint64 `json:"seqs,omitempty"`
		All  bool     `json:"all,omitempty"`
		Keep bool     `json:"keep,omitempty"`
	}
	req.All, req.Keep = all, keep
	if seqList != "" {
		for _, s := range strings.Split(seqList, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("invalid sequence %q", s)
			}
			req.Seqs = append(req.Seqs, n)
		}
	}
	if all == (len(req.Seqs) > 0) {
		return nil, errors.New("give either --seq or --all")
	}
	return json.Marshal(&req)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
