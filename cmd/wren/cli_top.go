package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wrenmq/wren/jetstore"
)

// wren top: a live terminal view of a daemon, read from its monitoring
// port (/varz and /jsz), refreshed every --interval.

// httpGet fetches url (http://host:port/path) with a bearer token if set.
// It is a few lines over a socket because net/http would add about a
// megabyte to the binary for one GET.
func httpGet(rawURL, token string, timeout time.Duration) (int, []byte, error) {
	rest, ok := strings.CutPrefix(rawURL, "http://")
	if !ok {
		return 0, nil, fmt.Errorf("monitoring URL %q: want http://host:port", rawURL)
	}
	host, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "8222")
	}
	conn, err := net.DialTimeout("tcp", host, timeout)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path, host, auth); err != nil {
		return 0, nil, err
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, nil, fmt.Errorf("%s: not an HTTP answer: %q", rawURL, status)
	}
	code, _ := strconv.Atoi(f[1])
	length := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", rawURL, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	var body []byte
	if length >= 0 {
		body = make([]byte, length)
		_, err = io.ReadFull(br, body)
	} else {
		body, err = io.ReadAll(br)
	}
	return code, body, err
}

// topVarz is what wren top reads of /varz.
type topVarz struct {
	ServerName    string    `json:"server_name"`
	Version       string    `json:"wren_version"`
	Now           time.Time `json:"now"`
	Uptime        string    `json:"uptime"`
	Mem           uint64    `json:"mem"`
	CPU           float64   `json:"cpu"`
	Connections   int       `json:"connections"`
	Subscriptions int       `json:"subscriptions"`
	InMsgs        int64     `json:"in_msgs"`
	OutMsgs       int64     `json:"out_msgs"`
	InBytes       int64     `json:"in_bytes"`
	OutBytes      int64     `json:"out_bytes"`
	SlowConsumers int64     `json:"slow_consumers"`
	LameDuck      bool      `json:"lame_duck_mode"`
}

// topUplink is what wren top reads of /uplinkz.
type topUplink struct {
	Links    int                      `json:"links_connected"`
	Forwards []jetstore.ForwardStatus `json:"forwards"`
}

func runTop(args []string, stdout, stderr io.Writer) error {
	c := newCLI("top", stdout, stderr, `Usage: wren top [options]

A live view of a running daemon read from its monitoring port: message
rates, connections, each stream's depth, each consumer's lag, dead
letters, store health and the uplink. q or Ctrl-C quits.

      --monitor <url>     monitoring address (env WREN_MONITOR; default http://127.0.0.1:8222)
      --token <token>     monitoring bearer token (env WREN_MONITOR_TOKEN)
      --interval <dur>    refresh interval (default 1s)
      --once              print one view and exit (for scripts)

Examples:
  wren top
  wren top --monitor http://gateway:8222 --token "$TOKEN" --interval 5s
`, false)
	mon := c.fs.String("monitor", envOr("WREN_MONITOR", "http://127.0.0.1:8222"), "")
	token := c.fs.String("token", os.Getenv("WREN_MONITOR_TOKEN"), "")
	interval := c.fs.Duration("interval", time.Second, "")
	once := c.fs.Bool("once", false, "")
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	if *interval < 100*time.Millisecond {
		return usagef("--interval must be at least 100ms")
	}
	base := strings.TrimRight(*mon, "/")
	sigs, stop := interrupted()
	defer stop()
	var quit <-chan struct{}
	if !*once {
		var restore func()
		quit, restore = quitKeys(os.Stdin)
		defer restore()
	}
	var prev *topVarz
	for {
		var v topVarz
		var js *jetstore.Report
		var up *topUplink
		err := topFetch(base+"/varz", *token, &v)
		if err == nil {
			var r jetstore.Report
			if topFetch(base+"/jsz", *token, &r) == nil {
				js = &r
			}
			var u topUplink
			if topFetch(base+"/uplinkz", *token, &u) == nil {
				up = &u
			}
		}
		var b strings.Builder
		if !*once {
			b.WriteString("\x1b[H\x1b[2J")
		}
		if err != nil {
			if *once {
				return err
			}
			fmt.Fprintf(&b, "wren top: %v (retrying every %v)\n", err, *interval)
		} else {
			topFrame(&b, &v, prev, js, up)
			prev = &v
		}
		if !*once {
			fmt.Fprintf(&b, "\n%s · every %v · q or Ctrl-C quits\n", base, *interval)
		}
		io.WriteString(stdout, b.String())
		if *once {
			return nil
		}
		select {
		case <-sigs:
			fmt.Fprintln(stdout)
			return nil
		case <-quit:
			fmt.Fprintln(stdout)
			return nil
		case <-time.After(*interval):
		}
	}
}

func topFetch(url, token string, out any) error {
	code, body, err := httpGet(url, token, 5*time.Second)
	if err != nil {
		return err
	}
	if code == 401 {
		return fmt.Errorf("%s wants a monitoring token (--token)", url)
	}
	if code != 200 {
		return fmt.Errorf("%s: HTTP %d", url, code)
	}
	return json.Unmarshal(body, out)
}

// topFrame writes one view; prev (may be nil) gives the rates.
func topFrame(b *strings.Builder, v, prev *topVarz, js *jetstore.Report, up *topUplink) {
	ldm := ""
	if v.LameDuck {
		ldm = "  LAME DUCK"
	}
	fmt.Fprintf(b, "wren %s  %s  up %s%s\n", v.Version, v.ServerName, v.Uptime, ldm)
	fmt.Fprintf(b, "connections %d  subscriptions %d  slow consumers %d  cpu %.1f%%  memory %s\n",
		v.Connections, v.Subscriptions, v.SlowConsumers, v.CPU, humanBytes(v.Mem))
	rate := func(now, then int64) string { return "-" }
	if prev != nil {
		if dt := v.Now.Sub(prev.Now).Seconds(); dt > 0 {
			rate = func(now, then int64) string { return strconv.FormatFloat(float64(max(now-then, 0))/dt, 'f', 1, 64) }
		}
	}
	pi, po, bi, bo := int64(0), int64(0), int64(0), int64(0)
	if prev != nil {
		pi, po, bi, bo = prev.InMsgs, prev.OutMsgs, prev.InBytes, prev.OutBytes
	}
	fmt.Fprintf(b, "in  %s msg/s  %s B/s  (total %d msgs)\nout %s msg/s  %s B/s  (total %d msgs)\n",
		rate(v.InMsgs, pi), rate(v.InBytes, bi), v.InMsgs, rate(v.OutMsgs, po), rate(v.OutBytes, bo), v.OutMsgs)
	if up == nil {
		b.WriteString("uplink not configured\n")
	} else {
		fmt.Fprintf(b, "uplink %d link(s) up\n", up.Links)
		for _, f := range up.Forwards {
			fmt.Fprintf(b, "  forward %s -> %s: %s, %d waiting, %d forwarded", f.Stream, cmp.Or(f.HubStream, f.Upstream), f.State, f.Waiting, f.Forwarded)
			if f.LastError != "" {
				fmt.Fprintf(b, " (%s)", f.LastError)
			}
			b.WriteString("\n")
		}
	}
	if js == nil {
		b.WriteString("\nstream layer off\n")
		return
	}
	b.WriteString("\n")
	var srows, crows [][]string
	for _, s := range js.Detail {
		store := "ok"
		if s.StoreError != "" {
			store = "FAILING: " + s.StoreError
		}
		srows = append(srows, []string{s.Name, strconv.FormatUint(s.State.Msgs, 10), humanBytes(s.State.Bytes),
			strconv.FormatUint(s.State.LastSeq, 10), strconv.Itoa(s.Consumers), store})
		for _, c := range s.ConsumerDetail {
			crows = append(crows, []string{s.Name, c.Name, strconv.FormatUint(c.NumPending, 10), strconv.Itoa(c.NumAckPending),
				strconv.Itoa(c.NumRedelivered), strconv.FormatUint(c.DeadLetters, 10)})
		}
	}
	if len(srows) == 0 {
		b.WriteString("no streams\n")
		return
	}
	table(b, []string{"STREAM", "MESSAGES", "BYTES", "LAST SEQ", "CONSUMERS", "STORE"}, srows)
	if len(crows) > 0 {
		b.WriteString("\n")
		table(b, []string{"STREAM", "CONSUMER", "PENDING", "ACK PENDING", "REDELIVERED", "DEAD LETTERS"}, crows)
	}
}
