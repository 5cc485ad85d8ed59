package tests

import (
	"bufio"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wrenmq/wren/server"
)

// The subscription-churn benchmarks run Wren and nats-server side by side
// in one process, with the same raw client: one connection subscribes to
// 100,000 wildcard subjects ("scale.<i>.*"), then takes them away, by
// closing the connection or by sending an UNSUB for each; the time runs
// until the server's subscription count is back to zero. Compare the two
// in the same run:
//
//	go test ./tests -run '^$' -bench ScaleWildcardSubs -benchtime 3x

const scaleSubs = 100_000

// scalePeer is a server under test: its client address and subscription
// count.
type scalePeer struct {
	addr string
	subs func() int
}

func scalePeers(b *testing.B) map[string]scalePeer {
	ws := startCoreServer(b, server.Options{Logger: slog.New(slog.DiscardHandler), MaxPending: 512 << 20})
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, MaxPending: 512 << 20})
	if err != nil {
		b.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		b.Fatal("nats-server did not start")
	}
	b.Cleanup(ns.Shutdown)
	return map[string]scalePeer{
		"wren":        {ws.Addr().String(), func() int { return ws.Stats().Subscriptions }},
		"nats-server": {ns.Addr().String(), func() int { return int(ns.NumSubscriptions()) }},
	}
}

// subscribeMany opens a connection with n wildcard subscriptions, waits
// until the server counts them, and has another connection publish to
// 1,024 subjects they match, so that the server's result cache is full.
func subscribeMany(b *testing.B, p scalePeer, n int) (net.Conn, *bufio.Reader) {
	base := p.subs()
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	w.WriteString("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
	for i := range n {
		w.WriteString("SUB scale." + strconv.Itoa(i) + ".* " + strconv.Itoa(i+1) + "\r\n")
	}
	w.WriteString("PING\r\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	if line, err := r.ReadString('\n'); err != nil || line != "PONG\r\n" {
		b.Fatalf("after %d SUBs: %q, %v", n, line, err)
	}
	waitSubs(b, p, base+n)
	pub, err := net.Dial("tcp", p.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	pr := bufio.NewReader(pub)
	if _, err := pr.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	pw := bufio.NewWriter(pub)
	pw.WriteString("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
	for i := range min(n, 1024) {
		pw.WriteString("PUB scale." + strconv.Itoa(i) + ".x 0\r\n\r\n")
	}
	pw.WriteString("PING\r\n")
	if err := pw.Flush(); err != nil {
		b.Fatal(err)
	}
	pub.SetReadDeadline(time.Now().Add(time.Minute))
	if line, err := pr.ReadString('\n'); err != nil || line != "PONG\r\n" {
		b.Fatalf("after the PUBs: %q, %v", line, err)
	}
	return conn, r
}

// readPong reads until PONG, skipping the messages before it.
func readPong(b *testing.B, conn net.Conn, r *bufio.Reader) {
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatalf("waiting for PONG: %v", err)
		}
		if line == "PONG\r\n" {
			return
		}
	}
}

func waitSubs(b *testing.B, p scalePeer, want int) {
	deadline := time.Now().Add(time.Minute)
	for p.subs() != want {
		if time.Now().After(deadline) {
			b.Fatalf("%d subscriptions; want %d", p.subs(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkScaleWildcardSubs alternates the two servers within each
// iteration, so that both see the same load on a shared machine, and
// reports each one's milliseconds per 100,000 subscriptions removed and
// Wren's time as a share of nats-server's.
func BenchmarkScaleWildcardSubs(b *testing.B) {
	peers := scalePeers(b)
	for _, mode := range []string{"close", "unsub"} {
		b.Run(mode, func(b *testing.B) {
			total := map[string]time.Duration{}
			for b.Loop() {
				for _, name := range []string{"wren", "nats-server"} {
					total[name] += removeMany(b, peers[name], mode)
				}
			}
			w := float64(total["wren"].Milliseconds()) / float64(b.N)
			n := float64(total["nats-server"].Milliseconds()) / float64(b.N)
			b.ReportMetric(w, "wren-ms")
			b.ReportMetric(n, "nats-ms")
			b.ReportMetric(w/n, "wren/nats")
		})
	}
}

// removeMany subscribes one connection to scaleSubs wildcard subjects and
// times their removal (by closing the connection, or by an UNSUB each)
// until the server's count is back where it was.
func removeMany(b *testing.B, p scalePeer, mode string) time.Duration {
	b.StopTimer()
	defer b.StartTimer()
	base := p.subs()
	conn, r := subscribeMany(b, p, scaleSubs)
	defer conn.Close()
	start := time.Now()
	if mode == "close" {
		conn.Close()
	} else {
		w := bufio.NewWriterSize(conn, 64<<10)
		for i := range scaleSubs {
			w.WriteString("UNSUB " + strconv.Itoa(i+1) + "\r\n")
		}
		w.WriteString("PING\r\n")
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		readPong(b, conn, r)
	}
	waitSubs(b, p, base)
	return time.Since(start)
}
