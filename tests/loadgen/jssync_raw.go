package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// jsSyncRawScenario is js-sync with the client taken out of the
// measurement: one blocking socket speaks the protocol itself (PUB with a
// reply, read the PubAck), with no client library goroutines to wake. Its
// latency is the server's own path, one round trip and one fsync
// included, beside the machine's floor; js-sync minus js-sync-raw is what
// nats.go adds.
type jsSyncRawScenario struct{}

func (jsSyncRawScenario) name() string     { return "js-sync-raw" }
func (jsSyncRawScenario) unit() string     { return "msgs/s" }
func (jsSyncRawScenario) needsStore() bool { return true }
func (jsSyncRawScenario) fsyncAll()        {}

func (jsSyncRawScenario) run(ctx context.Context, url string, cfg *config, mark func()) (result, error) {
	nc, err := connect(url, "loadgen-js-sync-raw")
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return result{}, err
	}
	st, err := createBenchStream(ctx, js)
	if err != nil {
		return result{}, err
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "nats://"))
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil { // INFO
		return result{}, fmt.Errorf("INFO: %w", err)
	}
	const inbox = "_INBOX.loadgen.raw"
	if _, err := conn.Write([]byte(`CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}` +
		"\r\nSUB " + inbox + " 1\r\nPING\r\n")); err != nil {
		return result{}, err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return result{}, fmt.Errorf("connect: %w", err)
		}
		if strings.HasPrefix(line, "PONG") {
			break
		}
		if strings.HasPrefix(line, "-ERR") {
			return result{}, fmt.Errorf("connect: %s", strings.TrimSpace(line))
		}
	}
	payload := cfg.payload()
	pub := append([]byte("PUB "+jsSubject+" "+inbox+" "+strconv.Itoa(len(payload))+"\r\n"), payload...)
	pub = append(pub, "\r\n"...)
	n := cfg.jsSyncMsgs
	lat := make([]time.Duration, 0, n)
	mark()
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		t := time.Now()
		if _, err := conn.Write(pub); err != nil {
			return result{}, fmt.Errorf("publish %d: %w", i, err)
		}
		ack, err := readMsg(r)
		if err != nil {
			return result{}, fmt.Errorf("publish %d: %w", i, err)
		}
		if !bytes.Contains(ack, []byte(`"seq"`)) || bytes.Contains(ack, []byte(`"error"`)) {
			return result{}, fmt.Errorf("publish %d: answer %s", i, ack)
		}
		lat = append(lat, time.Since(t))
	}
	elapsed := time.Since(start)
	res := result{count: int64(len(lat)), expected: int64(n), elapsed: elapsed, lat: lat}
	if stored, err := storedMsgs(ctx, st); err != nil {
		res.note = "stream info: " + err.Error()
	} else if stored != uint64(len(lat)) {
		res.note = fmt.Sprintf("stream holds %d, acked %d", stored, len(lat))
	}
	return res, nil
}

// readMsg reads protocol lines until a MSG and returns its payload.
func readMsg(r *bufio.Reader) ([]byte, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(line, "MSG "):
			f := strings.Fields(line)
			size, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				return nil, fmt.Errorf("bad MSG line %q", line)
			}
			b := make([]byte, size+2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, err
			}
			return b[:size], nil
		case strings.HasPrefix(line, "-ERR"):
			return nil, fmt.Errorf("%s", strings.TrimSpace(line))
		}
	}
}
