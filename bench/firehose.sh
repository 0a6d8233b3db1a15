#!/usr/bin/env bash
# Runs the delivery-stream benchmark: Rheo (release build, durable default mode) and moto's
# server (pip, in a venv under the target directory; LocalStack's community Firehose needs
# Docker, which this machine lacks) side by side in one session, and prints a Markdown table
# with ratios, this disk's `dd` with fsync as the ceiling, and Rheo's peak RSS over the run.
# Usage: bench/firehose.sh [extra `rheo bench-firehose` flags, e.g. --seconds 10]
set -euo pipefail
source "$(dirname "$0")/moto-peer.sh"
dd_ceiling
"$target/release/rheo" bench-firehose --pid "$rheo_pid" "$@" \
  --target "rheo=$rheo_url" \
  --target "moto=$moto_url"
rheo_peak_rss
