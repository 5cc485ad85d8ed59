// Command mqttload measures Wren's MQTT listener against Mosquitto with one
// load generator of its own (written on Wren's codec, so both brokers are
// driven by exactly the same bytes):
//
//	go run ./tests/mqttload throughput   # QoS 0 publish -> subscriber, side by side
//	go run ./tests/mqttload idle         # RSS of 10,000 idle MQTT connections
//
// It builds wren, starts each broker on a free port, runs the rounds
// alternately and prints a table with the ratio, as the other generators
// do: absolute numbers depend on the machine, the ratio is the result.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mqttload throughput|idle [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "throughput":
		err = throughput(os.Args[2:])
	case "idle":
		err = idle(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mqttload:", err)
		os.Exit(1)
	}
}

// broker is a running broker process.
type broker struct {
	name string
	cmd  *exec.Cmd
	addr string
	dir  string
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func buildWren(dir string) (string, error) {
	bin := filepath.Join(dir, "wren")
	out, err := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/wrenmq/wren/cmd/wren").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

func startWren(bin, dir string) (*broker, error) {
	port := freePort()
	cfg := filepath.Join(dir, "wren.toml")
	body := fmt.Sprintf("host = \"127.0.0.1\"\nport = 0\n[log]\nlevel = \"warn\"\n[mqtt]\nhost = \"127.0.0.1\"\nport = %d\n", port)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	return start("wren", exec.Command(bin, "-c", cfg), port)
}

func startMosquitto(dir string) (*broker, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		return nil, errors.New("mosquitto is not on PATH (apt-get install -y mosquitto)")
	}
	port := freePort()
	cfg := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_queued_bytes 0\n", port)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	return start("mosquitto", exec.Command(bin, "-c", cfg), port)
}

func start(name string, cmd *exec.Cmd, port int) (*broker, error) {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &broker{name: name, cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.addr, time.Second)
		if err == nil {
			c.Close()
			return b, nil
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("%s did not listen on %s", name, b.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *broker) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
}

// client is a raw MQTT 3.1.1 connection.
type client struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func dial(addr, id string, keepAlive uint16) (*client, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &client{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}
	cp := &mqtt.Connect{Version: mqtt.V311, CleanStart: true, KeepAlive: keepAlive, ClientID: []byte(id)}
	c.bw.Write(cp.Append(nil, mqtt.V311))
	c.bw.Flush()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	p, err := c.read(nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if ca, ok := p.(*mqtt.Connack); !ok || ca.Code != 0 {
		nc.Close()
		return nil, fmt.Errorf("connect refused: %#v", p)
	}
	return c, nil
}

// read reads one packet, using buf as scratch.
func (c *client) read(buf []byte) (mqtt.Packet, error) {
	var hdr [5]byte
	b, err := c.br.ReadByte()
	if err != nil {
		return nil, err
	}
	hdr[0] = b
	rl, shift, n := 0, 0, 1
	for {
		b, err := c.br.ReadByte()
		if err != nil {
			return nil, err
		}
		hdr[n] = b
		n++
		rl |= int(b&0x7f) << shift
		shift += 7
		if b&0x80 == 0 {
			break
		}
		if n == 5 {
			return nil, errors.New("bad remaining length")
		}
	}
	pkt := append(append(buf[:0], hdr[:n]...), make([]byte, rl)...)
	if _, err := io.ReadFull(c.br, pkt[n:]); err != nil {
		return nil, err
	}
	return mqtt.Decode(pkt, mqtt.V311)
}

func (c *client) subscribe(filter string) error {
	c.bw.Write((&mqtt.Subscribe{ID: 1, Topics: []mqtt.Subscription{{Filter: []byte(filter)}}}).Append(nil, mqtt.V311))
	c.bw.Flush()
	p, err := c.read(nil)
	if err != nil {
		return err
	}
	if _, ok := p.(*mqtt.Suback); !ok {
		return fmt.Errorf("no SUBACK: %#v", p)
	}
	return nil
}

// run measures one QoS 0 round: pubs publishers send msgs messages of size
// bytes in total to one subscriber; the publishers never get more than
// window messages ahead of it. It returns messages per second received.
func runRound(addr string, pubs, msgs, size, window int) (float64, error) {
	sub, err := dial(addr, "load-sub", 0)
	if err != nil {
		return 0, err
	}
	defer sub.nc.Close()
	if err := sub.subscribe("load/#"); err != nil {
		return 0, err
	}
	var got atomic.Int64
	done := make(chan error, 1)
	go func() {
		sub.nc.SetReadDeadline(time.Time{})
		buf := make([]byte, 0, size+64)
		for got.Load() < int64(msgs) {
			p, err := sub.read(buf)
			if err != nil {
				done <- err
				return
			}
			if _, ok := p.(*mqtt.Publish); ok {
				got.Add(1)
			}
		}
		done <- nil
	}()
	payload := make([]byte, size)
	per := msgs / pubs
	start := time.Now()
	errs := make(chan error, pubs)
	for i := 0; i < pubs; i++ {
		go func(i int) {
			c, err := dial(addr, "load-pub-"+strconv.Itoa(i), 0)
			if err != nil {
				errs <- err
				return
			}
			defer c.nc.Close()
			pkt := (&mqtt.Publish{Topic: []byte("load/" + strconv.Itoa(i)), Payload: payload}).Append(nil, mqtt.V311)
			var sent int64
			for n := 0; n < per; n++ {
				for sent-got.Load()/int64(pubs) > int64(window/pubs) {
					c.bw.Flush()
					time.Sleep(50 * time.Microsecond)
				}
				c.bw.Write(pkt)
				sent++
			}
			errs <- c.bw.Flush()
		}(i)
	}
	for i := 0; i < pubs; i++ {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	select {
	case err := <-done:
		if err != nil {
			return 0, err
		}
	case <-time.After(60 * time.Second):
		return 0, fmt.Errorf("subscriber got %d of %d", got.Load(), msgs)
	}
	return float64(msgs) / time.Since(start).Seconds(), nil
}

func throughput(args []string) error {
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	msgs := fs.Int("msgs", 500000, "messages per round")
	size := fs.Int("size", 128, "payload bytes")
	pubs := fs.Int("pubs", 2, "publishers")
	window := fs.Int("window", 20000, "messages the publishers may be ahead of the subscriber")
	rounds := fs.Int("rounds", 3, "rounds per broker")
	wrenBin := fs.String("wren", "", "wren binary (default: build ./cmd/wren)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "mqttload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *wrenBin == "" {
		if *wrenBin, err = buildWren(dir); err != nil {
			return err
		}
	}
	rates := map[string][]float64{}
	for r := 0; r < *rounds; r++ {
		for _, name := range []string{"wren", "mosquitto"} {
			var b *broker
			if name == "wren" {
				b, err = startWren(*wrenBin, dir)
			} else {
				b, err = startMosquitto(dir)
			}
			if err != nil {
				return err
			}
			rate, err := runRound(b.addr, *pubs, *msgs, *size, *window)
			b.stop()
			if err != nil {
				return fmt.Errorf("%s round %d: %w", name, r+1, err)
			}
			rates[name] = append(rates[name], rate)
		}
	}
	med := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return s[len(s)/2]
	}
	fmt.Printf("MQTT QoS 0, %d publishers -> 1 subscriber, %d x %d B, %d rounds each (median, all rounds)\n\n", *pubs, *msgs, *size, *rounds)
	fmt.Println("| broker | msgs/s | rounds |")
	fmt.Println("| --- | ---: | --- |")
	for _, name := range []string{"wren", "mosquitto"} {
		var all []string
		for _, v := range rates[name] {
			all = append(all, strconv.Itoa(int(v)))
		}
		fmt.Printf("| %s | %d | %s |\n", name, int(med(rates[name])), strings.Join(all, ", "))
	}
	fmt.Printf("\nwren / mosquitto = %.2f\n", med(rates["wren"])/med(rates["mosquitto"]))
	return nil
}

func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	conns := fs.Int("conns", 10000, "idle MQTT connections, each with one subscription")
	filter := fs.String("filter", "idle/%d/#", "each connection's topic filter (%d is its number); \"a/#\" costs two broker subscriptions, a and a.>")
	wrenBin := fs.String("wren", "", "wren binary (default: build ./cmd/wren)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = max(lim.Cur, min(lim.Max, uint64(2**conns+256)))
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	dir, err := os.MkdirTemp("", "mqttload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *wrenBin == "" {
		if *wrenBin, err = buildWren(dir); err != nil {
			return err
		}
	}
	b, err := startWren(*wrenBin, dir)
	if err != nil {
		return err
	}
	defer b.stop()
	time.Sleep(time.Second)
	base := rss(b.cmd.Process.Pid)
	var open []*client
	for i := 0; i < *conns; i++ {
		c, err := dial(b.addr, "idle-"+strconv.Itoa(i), 600)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if err := c.subscribe(fmt.Sprintf(*filter, i)); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		open = append(open, c)
	}
	time.Sleep(3 * time.Second)
	peak := rss(b.cmd.Process.Pid)
	for i := 0; i < 5; i++ {
		time.Sleep(time.Second)
		peak = max(peak, rss(b.cmd.Process.Pid))
	}
	fmt.Printf("wren idle RSS %.1f MB; with %d idle MQTT connections subscribed to %q %.1f MB (%.1f KB per connection)\n",
		float64(base)/(1<<20), *conns, *filter, float64(peak)/(1<<20), float64(peak-base)/float64(*conns)/1024)
	for _, c := range open {
		c.nc.Close()
	}
	return nil
}

// rss is a process's VmRSS in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}
