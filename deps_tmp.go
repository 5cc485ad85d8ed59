package deps
import (
 _ "github.com/nats-io/nkeys"
 _ "github.com/tidwall/wal"
 _ "github.com/klauspost/compress/s2"
 _ "github.com/pelletier/go-toml/v2"
 _ "github.com/nats-io/nats.go"
 _ "github.com/nats-io/nats.go/jetstream"
 _ "golang.org/x/crypto/bcrypt"
)
