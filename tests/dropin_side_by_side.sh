#!/usr/bin/env bash
# Runs the nats CLI commands of the drop-in tests against nats-server and
# against Wren, one after the other, so the answers can be read side by
# side. Both servers get a system account SYS (user admin/admin) and an
# application user app/app, JetStream, and free ports.
#
#   bash tests/dropin_side_by_side.sh            # nats-server from $(go env GOPATH)/bin
#   NATS_SERVER=/path/to/nats-server bash tests/dropin_side_by_side.sh
#
# Needs: go, the nats CLI (go install github.com/nats-io/natscli/nats@v0.4.0)
# and nats-server (go install github.com/nats-io/nats-server/v2@v2.15.2).
set -euo pipefail
cd "$(dirname "$0")/.."
NATS_SERVER=${NATS_SERVER:-$(go env GOPATH)/bin/nats-server}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

go build -o "$work/wren" ./cmd/wren

np=$(freeport)
cat >"$work/nats-server.conf" <<EOF
host: 127.0.0.1
port: $np
server_name: side
jetstream { store_dir: "$work/ns" }
accounts {
  APP { jetstream: enabled, users = [{user: app, password: app}] }
  SYS { users = [{user: admin, password: admin}] }
}
system_account: SYS
EOF
"$NATS_SERVER" -c "$work/nats-server.conf" >"$work/nats-server.log" 2>&1 &
pids+=($!)

wp=$(freeport)
cat >"$work/wren.toml" <<EOF
host = "127.0.0.1"
port = $wp
server_name = "side"
system_account = "SYS"
[jetstream]
enabled = true
store_dir = "$work/wr"
[[authorization.users]]
user = "app"
password = "app"
[[authorization.users]]
user = "admin"
password = "admin"
account = "SYS"
EOF
"$work/wren" -c "$work/wren.toml" >"$work/wren.log" 2>&1 &
pids+=($!)
sleep 1.5

run() { # run <label> <port> <user> <nats args...>
  local label=$1 port=$2 user=$3
  shift 3
  echo "---- $label: nats $*"
  nats --server "nats://$user:$user@127.0.0.1:$port" --timeout 3s "$@" 2>&1 | sed 's/^/    /' || true
}

both() { # both <user> <nats args...>
  local user=$1
  shift
  run nats-server "$np" "$user" "$@"
  run wren "$wp" "$user" "$@"
}

echo "== system account"
both admin server ping 1
both admin server list 1
both admin server report connections
both admin server report jetstream
both admin server check jetstream
both app server list

echo "== streams and consumers"
both app stream add T --subjects 't.>' --defaults
both app pub --jetstream t.x 21.5
both app req '$JS.API.DIRECT.GET.NOPE' '{"seq":1}'
both app stream add EMPTY --subjects 'empty.>' --defaults
both app req '$JS.API.STREAM.INFO.EMPTY' ''
both app consumer add T C --pull --defaults
both app consumer next T C
both app server check consumer --stream T --consumer C --last-delivery-critical 1h --last-ack-critical 1h
both app req '$JS.API.CONSUMER.MSG.NEXT.T.C' '{"batch":1,"no_wait":true,"expires":500000000}'

echo "== message tracing"
both app trace t.x
both app trace t.x --deliver
