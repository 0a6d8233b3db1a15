#!/usr/bin/env bash
# Runs the benchmark: Rheo (release build, durable default mode) and kinesalite (npm) side by
# side in one session, and prints a Markdown table with ratios.
# Usage: bench/run.sh [extra `rheo bench` flags, e.g. --seconds 10]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
peers=$target/bench-peers
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --bin rheo
if [ ! -x "$peers/node_modules/.bin/kinesalite" ] || [ ! -f "$peers/node_modules/kinesis-local/main.js" ]; then
  npm install --silent --prefix "$peers" kinesalite@3 kinesis-local@0.6 >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$target/release/rheo" serve --listen 127.0.0.1:0 --data-dir "$work/rheo" --transition-delay-ms 0 >"$work/rheo.log" 2>&1 &
pids+=($!)
rheo_pid=$!
kport=$(free_port)
"$peers/node_modules/.bin/kinesalite" --port "$kport" --createStreamMs 0 --deleteStreamMs 0 --updateStreamMs 0 --shardLimit 100000 >"$work/kinesalite.log" 2>&1 &
pids+=($!)
kinesalite_pid=$!
# kinesis-mock (npm kinesis-local) for enhanced fan-out, which kinesalite lacks. It reads its
# TLS certificate from the working directory.
mport=$(free_port)
mtls=$(free_port)
(cd "$peers/node_modules/kinesis-local" && KINESIS_MOCK_PLAIN_PORT=$mport KINESIS_MOCK_TLS_PORT=$mtls \
  CREATE_STREAM_DURATION=0ms REGISTER_STREAM_CONSUMER_DURATION=0ms SHARD_LIMIT=100000 LOG_LEVEL=WARN \
  exec node main.js) >"$work/kinesis-mock.log" 2>&1 &
pids+=($!)
mock_pid=$!
for _ in $(seq 100); do grep -q "rheo listening on" "$work/rheo.log" && grep -q Listening "$work/kinesalite.log" && break; sleep 0.1; done
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$mport/" && break; sleep 0.1; done
rheo_url=$(sed -n 's/^rheo listening on //p' "$work/rheo.log")

version() { node -p "require('./$peers/node_modules/$1/package.json').version"; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; kinesalite $(version kinesalite), kinesis-mock (kinesis-local) $(version kinesis-local), node $(node --version)" >&2
"$target/release/rheo" bench "$@" \
  --target "rheo=$rheo_url@$rheo_pid" \
  --target "kinesalite=http://127.0.0.1:$kport@$kinesalite_pid"
echo
echo "Polling and push latency beside kinesis-mock:"
echo
"$target/release/rheo" bench --only e2e,fanout \
  --target "rheo=$rheo_url@$rheo_pid" \
  --target "kinesis-mock=http://127.0.0.1:$mport@$mock_pid"
