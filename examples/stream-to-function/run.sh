#!/usr/bin/env bash
# Seed pipeline 1: producer -> Kinesis stream -> function -> dead-letter queue.
#
# Starts Rheo (release build, a fresh data directory), creates a stream, an SQS queue for
# failures and a Python function (run under AWS's runtime client, which Rheo prepares on first
# use), maps the stream to the function with retries, bisecting and an on-failure destination,
# puts orders (one of them poison), and shows what the function logged and what reached the
# dead-letter queue. Needs cargo, python3 and network access to PyPI on the first run.
#
# Usage: examples/stream-to-function/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin rheo
venv=$target/examples-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet boto3; }
data=$(mktemp -d)
log=$data/rheo.log
"$target/release/rheo" serve --listen 127.0.0.1:0 --data-dir "$data/rheo" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "rheo listening on" "$log" && break; sleep 0.1; done
url=$(sed -n 's/^rheo listening on //p' "$log")
"$venv/bin/python" "$here/pipeline.py" "$url"
