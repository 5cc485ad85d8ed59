#!/bin/sh
# Smoke test of the stream API with the nats CLI against a Wren daemon.
# Run by hand (CI has no nats CLI): tests/cli_smoke.sh
# Needs: go, the nats CLI on PATH. WREN_PORT picks the port (default 14222).
# Exits non-zero, saying which step failed, when Wren answers differently.
set -eu

cd "$(dirname "$0")/.."
command -v nats >/dev/null 2>&1 || { echo "cli_smoke: the nats CLI is not on PATH" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wren-cli-smoke-XXXXXX")
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=${WREN_PORT:-14222}
url="nats://127.0.0.1:$port"
go build -o "$work/wren" ./cmd/wren

start() {
	"$work/wren" -a 127.0.0.1 -p "$port" -sd "$work/store" >>"$work/wren.log" 2>&1 &
	pid=$!
	i=0
	until nats --server "$url" rtt >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 50 ]; then
			echo "cli_smoke: wren did not start:" >&2
			cat "$work/wren.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

stop() {
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=""
}

# n runs the CLI against the daemon with a deadline.
n() {
	timeout 20 nats --server "$url" "$@"
}

# expect STEP PATTERN: stdin must contain PATTERN (an extended regexp).
expect() {
	out=$(cat)
	if ! printf '%s\n' "$out" | grep -Eq -- "$2"; then
		echo "cli_smoke: $1: output does not match /$2/:" >&2
		printf '%s\n' "$out" >&2
		exit 1
	fi
	echo "ok   $1"
}

start

n stream add ORDERS --subjects 'orders.>' --defaults | expect "stream add" 'ORDERS'
n stream add EVENTS --subjects 'events.*' --storage memory --max-msgs 3 --defaults | expect "stream add memory" 'EVENTS'
n stream add CLASH --subjects 'orders.new' --defaults 2>&1 | expect "overlapping subjects refused" 'overlap'

n pub -J orders.new 'order {{Count}}' --count 5 2>&1 | expect "publish to ORDERS" 'Sequence: 5'
n pub -J events.x 'event {{Count}}' --count 5 2>&1 | expect "publish to EVENTS" 'Sequence: 5'
n pub -J nowhere.x 'x' 2>&1 | expect "publish with no stream" 'no (stream response|responders)'

n stream info ORDERS --json | expect "stream info messages" '"messages": 5'
n stream info ORDERS --json | expect "stream info subjects" '"num_subjects": 1'
n stream info EVENTS --json | expect "max msgs applied" '"first_seq": 3'
n stream ls --names | expect "stream ls" 'EVENTS'
n stream ls | expect "stream ls table" 'ORDERS'

n stream get ORDERS 2 | expect "stream get" 'order 2'
n stream rmm ORDERS 3 -f
n stream info ORDERS --json | expect "message deleted" '"num_deleted": 1'
n stream subjects ORDERS | expect "stream subjects" 'orders.new'
n stream purge ORDERS -f --keep 2 >/dev/null
n stream info ORDERS --json | expect "purge keep 2" '"messages": 2'
n stream edit ORDERS --max-msgs 100 -f | expect "stream edit" 'Maximum Messages: 100'
n stream edit ORDERS --storage memory -f 2>&1 | expect "storage change refused" 'storage'

n kv add CFG >/dev/null
n kv put CFG greeting hello >/dev/null
n kv get CFG greeting --raw | expect "kv get" '^hello$'
n stream report | expect "stream report" 'KV_CFG'
n account info | expect "account info" 'Streams: 3'

# A restart keeps file streams and their messages; memory streams come
# back empty.
stop
start
n stream info ORDERS --json | expect "restart keeps ORDERS" '"messages": 2'
n stream info EVENTS --json | expect "restart empties EVENTS" '"messages": 0'
n kv get CFG greeting --raw | expect "restart keeps the KV" '^hello$'

n stream rm ORDERS -f
n stream ls --names | expect "stream rm" 'EVENTS'
if n stream info ORDERS >/dev/null 2>&1; then
	echo "cli_smoke: ORDERS still exists after stream rm" >&2
	exit 1
fi
echo "ok   stream info after rm fails"
echo "cli_smoke: all steps passed"
