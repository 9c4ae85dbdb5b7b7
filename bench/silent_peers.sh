#!/usr/bin/env bash
# Silent-peer benchmark: how long a legitimate caller waits while other TCP peers hold
# connections open and send nothing. For each count of silent peers (default 0, 10 and 50,
# connected to the DICOM port and, as many again, to the HTTP port of each server), the median
# of --repeats measurements of
#   (a) `livernode serve`: a C-ECHO association, a C-STORE association of one CT instance, and
#       GET /healthz;
#   (b) DCMTK storescp (one association at a time): a C-ECHO association;
#   (c) Orthanc (Debian package `orthanc`, no plugins): a C-ECHO association and GET /system.
# Every server is started fresh for each count with an ACSE timeout of 30 s (livernode's and
# storescp's default; Orthanc's DicomScpTimeout set to 30), and the silent peers connect before the
# measurements and stay connected throughout. A caller gives up after --timeout seconds, printed
# as ">N" (it was still waiting).
#
# Usage: bench/silent_peers.sh [--livernode BIN] [--counts "0 10 50"] [--repeats N]
#                              [--timeout S] [--work DIR] [--skip-orthanc]
# Prints one line per count of silent peers, in seconds.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
livernode="${LIVERNODE:-$here/../build/node/livernode}"
counts="0 10 50"
repeats=3
timeout=10
work=""
do_orthanc=1
while [ $# -gt 0 ]; do
  case "$1" in
    --livernode) livernode="$2"; shift 2 ;;
    --counts) counts="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --skip-orthanc) do_orthanc=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
tools="storescu storescp echoscu curl python3"
[ "$do_orthanc" = 1 ] && tools="$tools Orthanc"
for tool in $tools; do
  command -v "$tool" > /dev/null || { echo "bench/silent_peers.sh: $tool not found" >&2; exit 2; }
done
[ -x "$livernode" ] || { echo "bench/silent_peers.sh: livernode binary not found: $livernode (--livernode BIN)" >&2; exit 2; }

if [ -z "$work" ]; then work="$(mktemp -d /tmp/livernode-bench-silent.XXXXXX)"; keep=0; else mkdir -p "$work"; keep=1; fi
. "$(dirname "$0")/lib.sh"
bench_cleanup_on_exit

# silent_peers COUNT PORT...: COUNT connections to each PORT that send nothing, held by a
# background process (its pid in silent_pid) until it is stopped.
silent_peers() {
  local count="$1"; shift
  local ready="$work/silent.ready"; rm -f "$ready"
  python3 - "$count" "$ready" "$@" << 'EOF' &
import socket, sys, time
count, ready, ports = int(sys.argv[1]), sys.argv[2], [int(p) for p in sys.argv[3:]]
held = [socket.create_connection(("127.0.0.1", port)) for port in ports for _ in range(count)]
open(ready, "w").close()
time.sleep(3600)
EOF
  silent_pid=$!; pids+=("$silent_pid")
  wait_for 30 test -e "$ready" || { echo "the silent peers could not connect" >&2; return 1; }
}

# timed COMMAND...: seconds the command took, or ">timeout" when it failed (each command gives up
# after --timeout seconds by itself).
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  if "$@" > "$work/timed.log" 2>&1; then
    t1=$(date +%s.%N)
    python3 -c "print(f'{$t1-$t0:.3f}')"
  else
    echo ">$timeout"
  fi
}
# median_of COMMAND...: the median of --repeats timings.
median_of() {
  local results=()
  for _ in $(seq "$repeats"); do results+=("$(timed "$@")"); done
  python3 - "${results[@]}" << 'EOF'
import sys
values = sys.argv[1:]
waited = [v for v in values if v.startswith(">")]
if len(waited) * 2 >= len(values):
    print(waited[0])
else:
    numbers = sorted(float(v) for v in values if not v.startswith(">"))
    print(f"{numbers[len(numbers) // 2]:.3f}")
EOF
}

echoscu_to() { echoscu -to "$timeout" -ta "$timeout" -td "$timeout" -aet BENCH -aec "$1" 127.0.0.1 "$2"; }
store_one() {  # store_one PORT: sends the next instance of the study (never one sent before)
  local next; next=$(cat "$work/next-instance")
  echo $(( (next + 1) % ${#instances[@]} )) > "$work/next-instance"
  local file="${instances[$next]}"
  TCP_NODELAY=1 storescu -to "$timeout" -ta "$timeout" -td "$timeout" -aet BENCH -aec LIVERNODE 127.0.0.1 "$1" "$file"
}

# --- the instances ---------------------------------------------------------------------------
"$livernode" phantom --out "$work/phantom" --slices 40 --matrix 256 --phases portal_venous > "$work/phantom.log"
mapfile -t instances < <(find "$work/phantom/dicom" -name '*.dcm' | sort)
echo 0 > "$work/next-instance"

run_livernode() {  # run_livernode COUNT: sets l_echo, l_store, l_health
  local dir="$work/livernode-$1"
  local dicom http; dicom=$(free_port); http=$(free_port)
  while [ "$http" = "$dicom" ]; do http=$(free_port); done
  mkdir -p "$dir"
  cat > "$dir/node.yaml" << EOF
node:
  ae_title: LIVERNODE
  port: $dicom
storage:
  spool_dir: $dir/spool
  state_db: $dir/state.sqlite
  results_dir: $dir/results
  min_free_disk_mb: 1
routing:
  rules:
    - name: keep
      action: ignore
http:
  bind_address: 127.0.0.1
  port: $http
logging:
  level: warn
EOF
  "$livernode" serve --config "$dir/node.yaml" > "$dir/serve.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  wait_for 60 curl -sf "http://127.0.0.1:$http/readyz" ||
    { echo "livernode did not start:" >&2; tail -20 "$dir/serve.log" >&2; return 1; }
  silent_peers "$1" "$dicom" "$http"
  l_echo=$(median_of echoscu_to LIVERNODE "$dicom")
  l_store=$(median_of store_one "$dicom")
  l_health=$(median_of curl -sf -m "$timeout" -o /dev/null "http://127.0.0.1:$http/healthz")
  stop_pid "$silent_pid"
  stop_pid "$pid"
}

run_storescp() {  # run_storescp COUNT: sets s_echo
  local dir="$work/storescp-$1" port; port=$(free_port)
  mkdir -p "$dir"
  TCP_NODELAY=1 storescp -ta 30 -aet STORESCP -od "$dir" "$port" > "$dir.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  wait_for 10 echoscu -aet BENCH -aec STORESCP 127.0.0.1 "$port"
  silent_peers "$1" "$port"
  s_echo=$(median_of echoscu_to STORESCP "$port")
  stop_pid "$silent_pid"
  stop_pid "$pid"
}

run_orthanc() {  # run_orthanc COUNT: sets o_echo, o_system
  local dir="$work/orthanc-$1"
  mkdir -p "$dir/storage"
  local dicom http; dicom=$(free_port); http=$(free_port)
  while [ "$http" = "$dicom" ]; do http=$(free_port); done
  cat > "$dir/orthanc.json" << EOF
{ "Name": "bench", "StorageDirectory": "$dir/storage", "IndexDirectory": "$dir/storage",
  "DicomAet": "ORTHANC", "DicomPort": $dicom, "HttpPort": $http, "DicomScpTimeout": 30,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "DicomCheckCalledAet": false,
  "DicomAlwaysAllowStore": true, "DicomAlwaysAllowEcho": true, "Plugins": [],
  "HttpServerEnabled": true, "DicomServerEnabled": true }
EOF
  Orthanc "$dir/orthanc.json" > "$dir/orthanc.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  wait_for 30 curl -sf "http://127.0.0.1:$http/system" ||
    { echo "Orthanc did not start:" >&2; tail -20 "$dir/orthanc.log" >&2; return 1; }
  silent_peers "$1" "$dicom" "$http"
  o_echo=$(median_of echoscu_to ORTHANC "$dicom")
  o_system=$(median_of curl -sf -m "$timeout" -o /dev/null "http://127.0.0.1:$http/system")
  stop_pid "$silent_pid"
  stop_pid "$pid"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); median of $repeats, seconds; '>$timeout': still waiting when the caller gave up"
if [ "$do_orthanc" = 1 ]; then
  printf '%-12s  %-14s %-15s %-16s  %-15s  %-14s %-14s\n' "silent peers" "livernode echo" "livernode store" "livernode healthz" "storescp echo" "Orthanc echo" "Orthanc system"
else
  printf '%-12s  %-14s %-15s %-16s  %-15s\n' "silent peers" "livernode echo" "livernode store" "livernode healthz" "storescp echo"
fi
for count in $counts; do
  run_livernode "$count"
  run_storescp "$count"
  if [ "$do_orthanc" = 1 ]; then
    run_orthanc "$count"
    printf '%-12s  %-14s %-15s %-16s  %-15s  %-14s %-14s\n' "$count" "$l_echo" "$l_store" "$l_health" "$s_echo" "$o_echo" "$o_system"
  else
    printf '%-12s  %-14s %-15s %-16s  %-15s\n' "$count" "$l_echo" "$l_store" "$l_health" "$s_echo"
  fi
done
