package tests

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wrenmq/wren/server/leaf"
)

// countingProxy relays TCP to target and counts the bytes going each way.
type countingProxy struct {
	ln       net.Listener
	up, down atomic.Int64 // gateway → hub, hub → gateway
}

func startCountingProxy(t testing.TB, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			relay := func(dst, src net.Conn, n *atomic.Int64) {
				buf := make([]byte, 32<<10)
				for {
					k, err := src.Read(buf)
					if k > 0 {
						n.Add(int64(k))
						if _, werr := dst.Write(buf[:k]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				dst.Close()
				src.Close()
			}
			go relay(h, c, &p.up)
			go relay(c, h, &p.down)
		}
	}()
	return p
}

// telemetry is a 128-byte sensor reading, as a gateway forwards them.
func telemetry(i int) []byte {
	s := fmt.Sprintf(`{"site":"gw17","sensor":"line1.temp","seq":%d,"value":%d.%02d,"unit":"C","ts":%d,"ok":true}`,
		i, 20+i%5, i%100, 1796229814000+int64(i)*100)
	return []byte(s + strings.Repeat(" ", 128-len(s)))
}

// linkBytes sends n telemetry messages from the gateway to a hub
// subscriber and n back, through a counting proxy, with the link's
// compression set to mode and the hub's leafnodes compression to hubMode;
// it returns the bytes that crossed each way and the mode each side shows.
func linkBytes(t testing.TB, hubMode, mode string, n int) (up, down int64, gwShows, hubShows string) {
	o := hubOpts(t, "hub", "")
	o.LeafNode.Compression = natsserver.CompressionOpts{Mode: hubMode}
	hub := startHub(t, o)
	proxy := startCountingProxy(t, fmt.Sprintf("127.0.0.1:%d", o.LeafNode.Port))
	gw := startGateway(t, "gw17", leaf.Remote{URLs: []*url.URL{{Scheme: "nats-leaf", Host: proxy.ln.Addr().String()}}, Compression: mode})
	gw.waitLinked(t, 1)
	local := connectNATS(t, gw.srv)
	remote := connectHub(t, hub)
	hubSub, _ := remote.SubscribeSync("site.gw17.>")
	hubSub.SetPendingLimits(-1, -1)
	flushNATS(t, remote)
	gwSub, _ := local.SubscribeSync("cmd.gw17.>")
	gwSub.SetPendingLimits(-1, -1)
	flushNATS(t, local)
	waitHubInterest(t, hub, "cmd.gw17.>")
	waitUntil(t, func() error {
		if !hasLeafSub(gw, "site.gw17.>") {
			return fmt.Errorf("no hub interest yet")
		}
		return nil
	})
	up0, down0 := proxy.up.Load(), proxy.down.Load()
	for i := 0; i < n; i++ {
		local.Publish("site.gw17.line1.temp", telemetry(i))
		remote.Publish("cmd.gw17.valve", telemetry(i))
	}
	flushNATS(t, local, remote)
	for i := 0; i < n; i++ {
		m, err := hubSub.NextMsg(testTimeout)
		if err != nil || string(m.Data) != string(telemetry(i)) {
			t.Fatalf("%s/%s: hub got message %d: %v %q", hubMode, mode, i, err, dataOf(m))
		}
		m, err = gwSub.NextMsg(testTimeout)
		if err != nil || string(m.Data) != string(telemetry(i)) {
			t.Fatalf("%s/%s: gateway got message %d: %v %q", hubMode, mode, i, err, dataOf(m))
		}
	}
	lz, _ := hub.Leafz(nil)
	if len(lz.Leafs) == 1 {
		hubShows = lz.Leafs[0].Compression
	}
	return proxy.up.Load() - up0, proxy.down.Load() - down0, gw.node.Leafz(false).Leafs[0].Compression, hubShows
}

// A link negotiates compression with a stock nats-server hub as its own
// leaf nodes do: with the hub compressing and the remote at s2_fast, both
// directions are S2 and 10,000 telemetry messages take a fraction of the
// bytes of a plain link, delivered intact both ways; a hub with
// compression off, or a remote with it off, gets plain protocol.
func TestLeafCompressionWithHub(t *testing.T) {
	const n = 10000
	plainUp, plainDown, gwPlain, hubPlain := linkBytes(t, "s2_fast", "off", n)
	if gwPlain != "off" {
		t.Errorf("remote off: gateway shows compression %q; want off", gwPlain)
	}
	fastUp, fastDown, gwFast, hubFast := linkBytes(t, "s2_fast", "s2_fast", n)
	if gwFast != "s2_fast" || hubFast != "s2_fast" {
		t.Errorf("remote s2_fast, hub s2_fast: gateway shows %q, hub %q; want s2_fast on both", gwFast, hubFast)
	}
	t.Logf("10,000 x 128 B each way: plain %d B up, %d B down (hub shows %q); s2_fast %d B up (%.2fx), %d B down (%.2fx)",
		plainUp, plainDown, hubPlain, fastUp, float64(fastUp)/float64(plainUp), fastDown, float64(fastDown)/float64(plainDown))
	if fastUp*2 > plainUp || fastDown*2 > plainDown {
		t.Errorf("s2_fast link carried %d B up, %d B down; plain %d B, %d B: want under half", fastUp, fastDown, plainUp, plainDown)
	}
	_, _, gwOff, _ := linkBytes(t, "off", "s2_fast", 100)
	if gwOff != "off" {
		t.Errorf("hub off: gateway shows compression %q; want off", gwOff)
	}
	_, _, gwAuto, hubAuto := linkBytes(t, "accept", "s2_auto", 100)
	if !strings.HasPrefix(gwAuto, "s2_") || hubAuto == "" || hubAuto == "off" {
		t.Errorf("remote s2_auto, hub accept: gateway shows %q, hub %q; want an s2 level on both", gwAuto, hubAuto)
	}
}

// BenchmarkLeafCompression measures what compression costs and saves on a
// link carrying 128-byte telemetry both ways (hub and gateway in this one
// process, so the CPU time is both sides' together): wire bytes per
// message and CPU time per message, plain against each S2 level.
//
//	go test ./tests/ -run '^$' -bench LeafCompression -benchtime 1x
func BenchmarkLeafCompression(b *testing.B) {
	const n = 50000
	for _, mode := range []string{"off", "s2_uncompressed", "s2_fast", "s2_better", "s2_best"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var r0, r1 syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
				up, down, _, _ := linkBytes(b, "accept", mode, n)
				syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
				cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
				b.ReportMetric(float64(up+down)/(2*n), "wireB/msg")
				b.ReportMetric(float64(cpu.Microseconds())/(2*n), "cpu_us/msg")
			}
		})
	}
}
