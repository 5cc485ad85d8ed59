package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wrenmq/wren/server"
)

// TestErrIsLastLineUnderTraffic: a client refused for a protocol error
// reads the -ERR as the very last line, even while messages for its
// subscription keep arriving from a busy publisher. Nothing delivered
// while the server closes it may follow the -ERR.
func TestErrIsLastLineUnderTraffic(t *testing.T) {
	s := startCoreServer(t, server.Options{})
	addr := s.Addr().String()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 { // busy publishers
		pc, err := nats.Connect("nats://" + addr)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for range 100 {
					pc.Publish("busy.x", []byte("tick"))
				}
				pc.Flush()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	// Traffic flows before the clients come.
	probe, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	ps, err := probe.SubscribeSync("busy.>")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.NextMsg(testTimeout); err != nil {
		t.Fatal(err)
	}
	ps.Unsubscribe()

	const clients = 400
	errs := make(chan error, clients)
	var cw sync.WaitGroup
	for i := range clients {
		cw.Add(1)
		go func() {
			defer cw.Done()
			// Subscribe, let some traffic arrive, then send garbage.
			x := badClient(addr, [][]byte{
				[]byte("CONNECT {\"verbose\":false}\r\nSUB busy.> 1\r\nPING\r\n"),
				[]byte("NOT A PROTOCOL LINE\r\n"),
			}, time.Duration(50+i%20)*time.Millisecond, testTimeout)
			if x.err != nil {
				errs <- x.err
				return
			}
			lines := strings.Split(strings.TrimSuffix(string(x.out), "\r\n"), "\r\n")
			if last := lines[len(lines)-1]; !x.closed || last != "-ERR 'Unknown Protocol Operation'" {
				errs <- fmt.Errorf("client %d: closed %v, last line %q of %d", i, x.closed, last, len(lines))
			}
		}()
	}
	cw.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d refused clients read something after their -ERR", n, clients)
	}
}
