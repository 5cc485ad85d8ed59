package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wrenmq/wren/cmd/wren/natsc"
	"github.com/wrenmq/wren/jetstore"
)

const consumerUsage = `Usage: wren consumer <command> [options]

Commands:
  ls <stream>               list a stream's consumers with their lag
  info <stream> <consumer>  show a consumer's configuration and state
  next <stream> <consumer>  fetch (and ack) the next messages of a pull consumer

Run wren consumer <command> --help for its options.
`

func runConsumer(args []string, stdout, stderr io.Writer) error {
	return runGroup("consumer", consumerUsage, []subcommand{
		{"ls", consumerLs}, {"list", consumerLs},
		{"info", consumerInfo},
		{"next", consumerNext},
	}, args, stdout, stderr)
}

func consumerLs(args []string, stdout, stderr io.Writer) error {
	c := newCLI("consumer ls", stdout, stderr, `Usage: wren consumer ls <stream> [options]

Lists a stream's consumers: kind, pending (lag), awaiting ack,
redelivered, last delivery.

Example:
  wren consumer ls ORDERS
`+connectionHelp, true)
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	defer c.close()
	var all []*jetstore.ConsumerInfo
	for {
		var r struct {
			Total     int                      `json:"total"`
			Consumers []*jetstore.ConsumerInfo `json:"consumers"`
		}
		if err := c.api("CONSUMER.LIST."+pos[0], map[string]int{"offset": len(all)}, &r); err != nil {
			return err
		}
		all = append(all, r.Consumers...)
		if len(r.Consumers) == 0 || len(all) >= r.Total {
			break
		}
	}
	if c.asJSON {
		return nil
	}
	if len(all) == 0 {
		fmt.Fprintf(stdout, "No consumers on stream %s\n", pos[0])
		return nil
	}
	var rows [][]string
	for _, ci := range all {
		kind := "pull"
		if ci.Config.DeliverSubject != "" {
			kind = "push"
		}
		if ci.Config.Durable == "" {
			kind += ", ephemeral"
		}
		rows = append(rows, []string{ci.Name, kind, strconv.FormatUint(ci.NumPending, 10), strconv.Itoa(ci.NumAckPending),
			strconv.Itoa(ci.NumRedelivered), strconv.FormatUint(ci.Delivered.Stream, 10)})
	}
	table(stdout, []string{"NAME", "KIND", "PENDING", "ACK PENDING", "REDELIVERED", "LAST DELIVERED SEQ"}, rows)
	return nil
}

func consumerInfo(args []string, stdout, stderr io.Writer) error {
	c := newCLI("consumer info", stdout, stderr, `Usage: wren consumer info <stream> <consumer> [options]

Shows a consumer's configuration and state.

Example:
  wren consumer info ORDERS billing
`+connectionHelp, true)
	pos, err := c.parse(args, 2, 2)
	if err != nil {
		return err
	}
	defer c.close()
	var ci jetstore.ConsumerInfo
	if err := c.api("CONSUMER.INFO."+pos[0]+"."+pos[1], nil, &ci); err != nil || c.asJSON {
		return err
	}
	cfg := ci.Config
	filter := cfg.FilterSubject
	if len(cfg.FilterSubjects) > 0 {
		filter = strings.Join(cfg.FilterSubjects, ", ")
	}
	if filter == "" {
		filter = "(all)"
	}
	maxDeliver := "unlimited"
	if cfg.MaxDeliver > 0 {
		maxDeliver = strconv.Itoa(cfg.MaxDeliver)
	}
	fmt.Fprintf(stdout, "Consumer %s on stream %s, created %s\n\nConfiguration:\n", ci.Name, ci.Stream, ci.Created.Local().Format(time.RFC3339))
	for _, r := range [][]string{
		{"Durable:", strconv.FormatBool(cfg.Durable != "")},
		{"Filter:", filter},
		{"Deliver policy:", cfg.DeliverPolicy},
		{"Ack policy:", cfg.AckPolicy},
		{"Ack wait:", cfg.AckWait.String()},
		{"Max deliver:", maxDeliver},
		{"Max ack pending:", strconv.Itoa(cfg.MaxAckPending)},
	} {
		fmt.Fprintf(stdout, "  %-18s %s\n", r[0], r[1])
	}
	fmt.Fprintf(stdout, "\nState:\n  %-18s consumer %d, stream %d\n  %-18s consumer %d, stream %d\n  %-18s %d\n  %-18s %d\n  %-18s %d\n  %-18s %d\n",
		"Last delivered:", ci.Delivered.Consumer, ci.Delivered.Stream, "Ack floor:", ci.AckFloor.Consumer, ci.AckFloor.Stream,
		"Pending:", ci.NumPending, "Ack pending:", ci.NumAckPending, "Redelivered:", ci.NumRedelivered, "Waiting pulls:", ci.NumWaiting)
	return nil
}

func consumerNext(args []string, stdout, stderr io.Writer) error {
	c := newCLI("consumer next", stdout, stderr, `Usage: wren consumer next <stream> <consumer> [options]

Fetches the next messages of a pull consumer, prints them and acks each
(unless --no-ack). Exits 1 when none came within --wait.

      --count <n>   how many to fetch (default 1)
      --no-ack      leave them unacked (they are redelivered after ack wait)
      --wait <dur>  how long to wait for them (default 5s)
      --raw         print only the bodies

Examples:
  wren consumer next ORDERS billing
  wren consumer next ORDERS billing --count 10 --no-ack
`+connectionHelp, true)
	count := c.fs.Int("count", 1, "")
	noAck := c.fs.Bool("no-ack", false, "")
	wait := c.fs.Duration("wait", 5*time.Second, "")
	raw := c.fs.Bool("raw", false, "")
	pos, err := c.parse(args, 2, 2)
	if err != nil {
		return err
	}
	if *count < 1 {
		return usagef("--count must be at least 1")
	}
	conn, err := c.connect()
	if err != nil {
		return err
	}
	defer c.close()
	inbox := natsc.NewInbox()
	sub, err := conn.Subscribe(inbox, "", *count+8)
	if err != nil {
		return err
	}
	req, _ := json.Marshal(map[string]any{"batch": *count, "expires": *wait})
	if err := conn.Publish("$JS.API.CONSUMER.MSG.NEXT."+pos[0]+"."+pos[1], inbox, nil, req); err != nil {
		return err
	}
	got := 0
	deadline := time.After(*wait + c.wait)
	for got < *count {
		select {
		case m, ok := <-sub.C:
			if !ok {
				return fmt.Errorf("connection lost: %v", conn.Err())
			}
			if m.Status != "" {
				switch m.Status {
				case "404", "408":
					if got == 0 {
						return fmt.Errorf("no message within %v", *wait)
					}
					fmt.Fprintf(stderr, "%d of %d messages were there\n", got, *count)
					return nil
				case "503":
					return fmt.Errorf("the server at %s has no stream layer", c.opts.URL)
				case "100":
					continue // heartbeat
				default:
					return fmt.Errorf("%s %s", m.Status, m.Desc)
				}
			}
			got++
			if !*raw {
				if meta := ackMeta(m.Reply); meta != "" {
					fmt.Fprintf(stdout, "[#%d] %s\n", got, meta)
				}
			}
			printMsg(stdout, got, m, *raw)
			if !*noAck && m.Reply != "" {
				if _, err := conn.Request(m.Reply, nil, []byte("+ACK"), c.wait); err != nil {
					return fmt.Errorf("ack of message %d: %w", got, err)
				}
			}
		case <-deadline:
			if got == 0 {
				return fmt.Errorf("no message within %v", *wait)
			}
			return nil
		}
	}
	return nil
}

// ackMeta describes a message from its ack subject:
// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>.
func ackMeta(reply string) string {
	t := strings.Split(reply, ".")
	if len(t) < 9 || t[0] != "$JS" || t[1] != "ACK" {
		return ""
	}
	n := len(t)
	return fmt.Sprintf("stream sequence %s, delivery %s, %s pending", t[n-4], t[n-5], t[n-1])
}
