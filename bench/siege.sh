#!/usr/bin/env bash
# The siege (issue 10): a producer's PutRecords latency alone, then beside 1,000 idle
# connections, 100 slow readers and 50 header-only uploads, against a release build of Rheo
# in its default settings. Bounded in sockets and time; loopback only.
# Usage: bench/siege.sh [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cargo build --release --bin rheo
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$target/release/rheo" serve --listen 127.0.0.1:0 --data-dir "$work/rheo" --transition-delay-ms 0 >"$work/rheo.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "rheo listening on" "$work/rheo.log" && break; sleep 0.1; done
url=$(sed -n 's/^rheo listening on //p' "$work/rheo.log")
echo "| server | p50 alone (ms) | p99 alone (ms) | p50 under siege (ms) | p99 under siege (ms) | p99 ratio |"
echo "|---|---|---|---|---|---|"
"$target/release/rheo" bench --only siege --seconds "${SECONDS_EACH:-10}" "$@" --target "rheo=$url@$pid"
