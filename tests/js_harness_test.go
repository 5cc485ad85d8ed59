package tests

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
)

// jsServer is a broker with the stream layer attached, on a free port.
type jsServer struct {
	srv *server.Server
	js  *jetstore.JetStream
	ip  *server.InProc
	dir string
}

// startJS starts a server with streams stored in dir (a new temp dir when
// empty). It is shut down when the test ends unless stopped earlier.
func startJS(t testing.TB, dir string) *jsServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := server.New(server.Options{Host: "127.0.0.1", Port: 0, JetStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ip := s.InProc("jetstream")
	js, err := jetstore.Open(ip, jetstore.Config{StoreDir: dir})
	if err != nil {
		s.Shutdown(context.Background())
		t.Fatal(err)
	}
	j := &jsServer{srv: s, js: js, ip: ip, dir: dir}
	t.Cleanup(j.stop)
	return j
}

// stop shuts the server down; it may be called more than once.
func (j *jsServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	j.srv.Shutdown(ctx)
	j.js.Close()
	j.ip.Close()
}

// jsConnect connects a nats.go client and its jetstream context.
func jsConnect(t testing.TB, j *jsServer) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(j.srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func jsCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
