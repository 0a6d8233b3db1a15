#!/usr/bin/env bash
# Two builds of Rheo beside kinesalite in one session: PutRecords throughput and the GetRecords
# drain (and PutRecord latency), for a before/after figure of a change.
# Usage: bench/compare.sh OLD_BINARY NEW_BINARY [extra `rheo bench` flags]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2
shift 2
target=${CARGO_TARGET_DIR:-target}
peers=$target/bench-peers
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
if [ ! -x "$peers/node_modules/.bin/kinesalite" ]; then
  npm install --silent --prefix "$peers" kinesalite@3 kinesis-local@0.6 >/dev/null
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for which in new old; do
  bin=$new; [ "$which" = old ] && bin=$old
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/$which" --transition-delay-ms 0 >"$work/$which.log" 2>&1 &
  pids+=($!)
  eval "${which}_pid=$!"
done
kport=$(free_port)
"$peers/node_modules/.bin/kinesalite" --port "$kport" --createStreamMs 0 --deleteStreamMs 0 --updateStreamMs 0 --shardLimit 100000 >"$work/kinesalite.log" 2>&1 &
pids+=($!)
kinesalite_pid=$!
for _ in $(seq 100); do grep -q "rheo listening on" "$work/new.log" && grep -q "rheo listening on" "$work/old.log" && grep -q Listening "$work/kinesalite.log" && break; sleep 0.1; done
new_url=$(sed -n 's/^rheo listening on //p' "$work/new.log")
old_url=$(sed -n 's/^rheo listening on //p' "$work/old.log")
"$new" bench --only put,latency,drain "$@" \
  --target "after=$new_url@$new_pid" \
  --target "before=$old_url@$old_pid" \
  --target "kinesalite=http://127.0.0.1:$kport@$kinesalite_pid"
