# Sourced by the benchmarks measured beside moto's server (sqs.sh, s3.sh, firehose.sh): builds
# Rheo (release), installs moto's server (pip, in a venv under the target directory, once),
# starts both on free ports on 127.0.0.1 (Rheo in its durable default mode, its data in $work),
# prints the machine and moto's version, and stops both on exit. Sets target, work, rheo_url,
# rheo_pid and moto_url; defines dd_ceiling and rheo_peak_rss for the scripts that report them.
# A script may set $work (a directory) before sourcing it.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${CARGO_TARGET_DIR:-target}
venv=$target/bench-peers/moto-venv
work=${work:-$(mktemp -d -p "${RHEO_BENCH_DIR:-$target}")}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --bin rheo
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'moto[server]==5.*'
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$target/release/rheo" serve --listen 127.0.0.1:0 --data-dir "$work/rheo" >"$work/rheo.log" 2>&1 &
rheo_pid=$!
pids+=($rheo_pid)
mport=$(free_port)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$mport" >"$work/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "rheo listening on" "$work/rheo.log" && break; sleep 0.1; done
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$mport/" && break; sleep 0.1; done
rheo_url=$(sed -n 's/^rheo listening on //p' "$work/rheo.log")
moto_url="http://127.0.0.1:$mport"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)')" >&2

# The disk's own pace for a large durable write, on the filesystem Rheo writes to.
dd_ceiling() {
  local line
  line=$(dd if=/dev/zero of="$work/dd.bin" bs=1M count=1024 conv=fsync 2>&1 | tail -1)
  rm -f "$work/dd.bin"
  echo "dd 1 GiB with fsync on this disk: $line" >&2
}

rheo_peak_rss() {
  echo >&2
  echo "rheo peak RSS over the run: $(awk '/VmHWM/{printf "%.0f MiB", $2/1024}' /proc/$rheo_pid/status)" >&2
}
