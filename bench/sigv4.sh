#!/usr/bin/env bash
# The cost of SigV4 verification on PutRecords throughput: two Rheo servers side by side, one
# verifying signatures (--credential) and one accepting any well-formed signature, driven by
# the same load generator signing every request for real (body hash included), so the client's
# work is the same for both.
# Usage: bench/sigv4.sh [extra `rheo bench` flags]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cargo build --release --bin rheo
start() { # name, extra flags...
  local name=$1; shift
  "$target/release/rheo" serve --listen 127.0.0.1:0 --data-dir "$work/$name" --transition-delay-ms 0 "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "rheo listening on" "$work/$name.log" && break; sleep 0.1; done
  echo "$(sed -n 's/^rheo listening on //p' "$work/$name.log")@$!"
}
open=$(start open)
verify=$(start verify --credential AKIDBENCH:benchsecret)
"$target/release/rheo" bench --only put --credential AKIDBENCH:benchsecret "$@" \
  --target "no-verification=$open" --target "sigv4-verified=$verify"
