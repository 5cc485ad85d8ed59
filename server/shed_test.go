//go:build !race

package server

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A connection whose SUB and UNSUB come faster than shedSubEvery sheds at
// most once per interval, and the shed it put off comes with its first
// read after that: once such a connection goes quiet and pings, it keeps
// a minimum-size stack like any idle connection.
func TestSubscribeBurstThenIdleKeepsSmallStack(t *testing.T) {
	s := startFootprintServer(t)
	base := runtime.NumGoroutine()
	before := stackInuse()
	const n = 200
	conns := make([]net.Conn, 0, n)
	readers := make([]*bufio.Reader, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	pong := func(i int) {
		t.Helper()
		for {
			line, err := readers[i].ReadString('\n')
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			if strings.HasPrefix(line, "PONG") {
				return
			}
		}
	}
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		conns, readers = append(conns, c), append(readers, bufio.NewReader(c))
		fmt.Fprintf(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB burst.%d 1\r\nPING\r\n", i)
		pong(i)
		// More reads with a SUB and an UNSUB each, within the interval.
		for j := 0; j < 3; j++ {
			fmt.Fprintf(c, "SUB burst.%d.%d %d\r\nUNSUB %d\r\nPING\r\n", i, j, j+2, j+2)
			pong(i)
		}
	}
	time.Sleep(shedSubEvery + 50*time.Millisecond)
	for i, c := range conns {
		fmt.Fprintf(c, "PING\r\n")
		pong(i)
	}
	waitGoroutines(t, base+n, fmt.Sprintf("%d idle connections", n))
	per := (int64(stackInuse()) - int64(before)) / n
	if per > 3<<10 {
		t.Errorf("each connection holds %d bytes of stack after its burst; want at most %d", per, 3<<10)
	}
	t.Logf("%d bytes of stack per connection", per)
}
