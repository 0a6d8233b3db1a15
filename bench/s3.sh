#!/usr/bin/env bash
# Runs the S3 benchmark: Rheo (release build, durable default mode) and moto's server (pip, in
# a venv under the target directory) side by side in one session, prints a Markdown table with
# ratios, this disk's `dd` with fsync as the ceiling for large objects, and Rheo's peak RSS
# over the run (which streams one object of --big-mib MiB, 2048 by default, in and out).
# Usage: bench/s3.sh [extra `rheo bench-s3` flags, e.g. --seconds 10 --big-mib 0]
set -euo pipefail
source "$(dirname "$0")/moto-peer.sh"
dd_ceiling
args=("$@")
case " $* " in *" --big-mib "*) ;; *) args+=(--big-mib 2048) ;; esac
"$target/release/rheo" bench-s3 "${args[@]}" \
  --target "rheo=$rheo_url" \
  --target "moto=$moto_url"
rheo_peak_rss
