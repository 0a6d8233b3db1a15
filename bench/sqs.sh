#!/usr/bin/env bash
# Runs the SQS benchmark: Rheo (release build, durable default mode) and moto's server (pip,
# in a venv under the target directory) side by side in one session, and prints a Markdown
# table with ratios.
# Usage: bench/sqs.sh [extra `rheo bench-sqs` flags, e.g. --seconds 10]
set -euo pipefail
work=$(mktemp -d)
source "$(dirname "$0")/moto-peer.sh"
"$target/release/rheo" bench-sqs "$@" \
  --target "rheo=$rheo_url" \
  --target "moto=$moto_url"
