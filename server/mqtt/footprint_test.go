//go:build !race

package mqtt

import (
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/wrenmq/wren/protocol/mqtt"
)

// idleMQTT opens n connections that CONNECT and SUBSCRIBE and waits for the
// SUBACK.
func idleMQTT(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		id := "idle-" + strconv.Itoa(i)
		b := (&mqtt.Connect{Version: mqtt.V311, CleanStart: true, KeepAlive: 600, ClientID: []byte(id)}).Append(nil, mqtt.V311)
		b = (&mqtt.Subscribe{ID: 1, Topics: []mqtt.Subscription{{Filter: []byte("idle/" + strconv.Itoa(i) + "/#"), Opts: 1}}}).Append(b, mqtt.V311)
		c.Write(b)
		if _, ok := readPacket(t, c, mqtt.V311).(*mqtt.Connack); !ok {
			t.Fatalf("connection %d: no CONNACK", i)
		}
		if _, ok := readPacket(t, c, mqtt.V311).(*mqtt.Suback); !ok {
			t.Fatalf("connection %d: no SUBACK", i)
		}
		c.SetReadDeadline(time.Time{})
	}
	return conns
}

// An idle MQTT connection keeps no goroutine where the listener parks
// quiet sockets (Linux: after idleGrace its socket waits in the listener's
// epoll instance; one goroutine waits there for all of them), and one, its
// read loop, elsewhere: the write loop runs only while there is something
// to write, and no read buffer is held while it waits. The bound guards
// against regressions: today an idle connection with one subscription (two
// broker subscriptions for "a/#") costs about 6 KiB of heap and no
// goroutine on Linux, measured here with this test's own client side
// included.
func TestIdleMQTTFootprint(t *testing.T) {
	b := startBroker(t, server0(), Options{})
	const n = 500
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	idleMQTT(t, b.l.Addr().String(), n)
	want := g0 + n
	if parksIdle {
		want = g0 + 1 // the poller
	}
	deadline := time.Now().Add(testTimeout + idleGrace)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle connections; want at most %d", runtime.NumGoroutine()-g0, n, want-g0)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if path := os.Getenv("WREN_HEAP_PROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	heap := float64(after.HeapInuse-before.HeapInuse) / n
	stack := float64(after.StackInuse-before.StackInuse) / n
	t.Logf("per idle connection (server and this test's client side): heap %.0f B, stacks %.0f B", heap, stack)
	if parksIdle {
		// No goroutine per connection (checked above); what the runtime
		// keeps of the stacks of the goroutines that ended varies from run
		// to run, so the heap alone is bounded.
		if heap > 7<<10 {
			t.Errorf("an idle MQTT connection costs %.0f B of heap; want at most 7 KiB", heap)
		}
	} else if heap+stack > 10<<10 {
		t.Errorf("an idle MQTT connection costs %.0f B of heap and stack; want at most 10 KiB", heap+stack)
	}
}
