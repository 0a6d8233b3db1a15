#!/usr/bin/env bash
# Seed pipeline 2: producer -> Kinesis stream -> delivery stream with a transformation function
# -> objects in a bucket by size/time -> queried with DuckDB.
#
# Starts Rheo (release build, a fresh data directory), creates a stream, a bucket, a Python
# transformation function (run under AWS's runtime client, which Rheo prepares on first use) and
# a delivery stream reading the stream, puts fake click events (Faker), waits for the gzip
# objects, and queries them with DuckDB over Rheo's S3 endpoint. Needs cargo, python3 and
# network access to PyPI on the first run.
#
# Usage: examples/delivery-pipeline/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin rheo
venv=$target/examples-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import boto3, faker, duckdb, duckdb_extension_httpfs" 2>/dev/null ||
  "$venv/bin/pip" install --quiet boto3 faker duckdb==1.5.5 duckdb-extension-httpfs==1.5.5
data=$(mktemp -d)
log=$data/rheo.log
"$target/release/rheo" serve --listen 127.0.0.1:0 --data-dir "$data/rheo" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "rheo listening on" "$log" && break; sleep 0.1; done
url=$(sed -n 's/^rheo listening on //p' "$log")
"$venv/bin/python" "$here/pipeline.py" "$url"
