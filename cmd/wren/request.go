package main

import (
	"time"

	"github.com/wrenmq/wren/cmd/wren/natsc"
	"github.com/wrenmq/wren/server"
)

// The admin subcommands talk to a running daemon through natsc, the
// binary's own small client (see its package comment for why).

// errNoResponders is a request nobody subscribes to.
var errNoResponders = natsc.ErrNoResponders

// requestOpts is where and as whom to connect.
type requestOpts struct {
	url               string // nats://[user:pass@]host[:port], tls://..., or host[:port]
	user, pass, token string
	name              string
	tlsCA             string        // PEM file of the CAs that verify a TLS server; default the system's
	dialTimeout       time.Duration // connecting, TLS and CONNECT; default 5s
}

// natsRequest publishes data to subject with a fresh reply inbox and
// returns the reply's payload, within timeout after connecting.
func natsRequest(o requestOpts, subject string, data []byte, timeout time.Duration) ([]byte, error) {
	c, err := natsc.Connect(natsc.Options{
		URL: o.url, User: o.user, Password: o.pass, Token: o.token, Name: o.name,
		TLSCA: o.tlsCA, Timeout: o.dialTimeout, Version: server.Version,
	})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	m, err := c.Request(subject, nil, data, timeout)
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}
