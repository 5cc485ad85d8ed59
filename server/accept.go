package server

import (
	"errors"
	"net"
	"time"
)

// AcceptLoop accepts connections on ln and hands each to serve until ln is
// closed or stopped reports true. A failed accept (EMFILE, ENFILE) is
// passed to failed with the pause before the next try, which doubles from
// 5 ms up to one second and starts again after a success: a listener
// short of file descriptors waits for them instead of spinning or giving
// up. Every listener of the daemon (client, MQTT, WebSocket) accepts so.
func AcceptLoop(ln net.Listener, stopped func() bool, failed func(err error, retry time.Duration), serve func(net.Conn)) {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if stopped() || errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			failed(err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		serve(nc)
	}
}
