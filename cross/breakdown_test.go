package main

import (
	"strings"
	"testing"
)

func TestModuleOf(t *testing.T) {
	tests := []struct{ sym, want string }{
		{"github.com/wrenmq/wren/server.(*client).readLoop", "wren"},
		{"type:*github.com/wrenmq/wren/jetstore.stream", "wren"},
		{"github.com/nats-io/nkeys.(*kp).Sign", "github.com/nats-io/nkeys"},
		{"github.com/pelletier/go-toml/v2.(*decoder).walkTable", "github.com/pelletier/go-toml"},
		{"github.com/klauspost/compress/s2.encodeBlock", "github.com/klauspost/compress"},
		{"golang.org/x/crypto/bcrypt.bcrypt", "golang.org/x/crypto"},
		{"go:itab.*net.TCPConn,net.Conn", "std"},
		{"crypto/tls.(*Conn).Handshake", "std"},
		{"vendor/golang.org/x/net/idna.idnaValues", "std"},
		{"sync/atomic.(*Pointer[github.com/wrenmq/wren/server.limits]).Load", "std"},
		{"runtime.mallocgc", "runtime"},
		{"internal/runtime/maps.(*Map).getWithKey", "runtime"},
		{"go:func.*", "shared tables"},
		{"runtime.findfunctab", "shared tables"},
	}
	for _, tt := range tests {
		if got := moduleOf(tt.sym); got != tt.want {
			t.Errorf("moduleOf(%q) = %q; want %q", tt.sym, got, tt.want)
		}
	}
}

func TestSumByModule(t *testing.T) {
	nm := `  401000       1200 T runtime.mallocgc
  402000        300 t github.com/wrenmq/wren/server.(*client).readLoop
  403000        500 R github.com/tidwall/wal.ErrCorrupt
  404000    9999999 D crypto/internal/fips140/drbg.memory
  405000          0 T github.com/wrenmq/wren/server.empty
           0 U undefined.symbol
`
	sizes, total := sumByModule(strings.NewReader(nm))
	if total != 2000 {
		t.Errorf("total = %d; want 2000 (code and read-only data only)", total)
	}
	want := map[string]int64{"runtime": 1200, "wren": 300, "github.com/tidwall/wal": 500}
	for m, n := range want {
		if sizes[m] != n {
			t.Errorf("sizes[%q] = %d; want %d", m, sizes[m], n)
		}
	}
	if len(sizes) != len(want) {
		t.Errorf("sizes = %v; want %v", sizes, want)
	}
}
