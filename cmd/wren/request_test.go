package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/server"
)

func startRequestServer(t *testing.T, a *auth.Authenticator) *server.Server {
	t.Helper()
	s, err := server.New(server.Options{Host: "127.0.0.1", Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func TestNatsRequest(t *testing.T) {
	s := startRequestServer(t, nil)
	ip := s.InProc("echo")
	defer ip.Close()
	if _, err := ip.Subscribe("svc.echo", "", func(m *protocol.Msg) {
		ip.Publish(string(m.Reply), "", nil, append([]byte("re: "), m.Data...))
	}); err != nil {
		t.Fatal(err)
	}
	got, err := natsRequest(requestOpts{url: s.ClientURL()}, "svc.echo", []byte("hi"), 5*time.Second)
	if err != nil || string(got) != "re: hi" {
		t.Fatalf("natsRequest = %q, %v; want %q", got, err, "re: hi")
	}
	if _, err := natsRequest(requestOpts{url: s.ClientURL()}, "svc.nobody", nil, 5*time.Second); !errors.Is(err, errNoResponders) {
		t.Fatalf("request to nobody: %v; want errNoResponders", err)
	}
}

func TestNatsRequestAuth(t *testing.T) {
	a, err := auth.New(auth.Config{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	s := startRequestServer(t, a)
	url := s.ClientURL()
	_, err = natsRequest(requestOpts{url: url, token: "wrong"}, "svc.x", nil, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("wrong token: %v; want Authorization Violation", err)
	}
	// The token may also come in the URL; nobody answers svc.x.
	withToken := strings.Replace(url, "nats://", "nats://s3cret@", 1)
	if _, err := natsRequest(requestOpts{url: withToken}, "svc.x", nil, 5*time.Second); !errors.Is(err, errNoResponders) {
		t.Fatalf("token in URL: %v; want errNoResponders", err)
	}
}
