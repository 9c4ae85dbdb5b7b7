#!/usr/bin/env bash
# Ingest benchmark: the same set of uncompressed CT instances sent with DCMTK's storescu to
#   (a) DCMTK storescp writing into a temporary folder,
#   (b) a temporary Orthanc (Debian package `orthanc`, no plugins, no authentication),
#   (c) `livernode serve` with a routing rule that analyses nothing (receive + spool only),
# each peer started fresh for every repetition, then images/s per peer and the ratios
# node/storescp and node/Orthanc. Afterwards, separately: the time from the last instance
# received to the last result delivered into Orthanc for the default phantom study (node with
# analysis and a destination pointing at a fresh Orthanc).
#
# storescu, storescp and Orthanc run with TCP_NODELAY=1 in their environment (DCMTK then turns
# Nagle off on its association sockets; livernode does that itself). Without it each C-STORE
# waits for a delayed ACK (~40 ms) and a receiver manages ~20 images/s whatever it does.
# storescp 3.6.7 has no fsync option and writes through the page cache; Orthanc fsyncs each file
# (SyncStorageArea, its default); livernode puts each instance on stable storage before
# answering (one direct write + fdatasync into its pre-written ingest journal, the fdatasync shared
# by the associations waiting at the time; the spool files are synced in batches afterwards) --
# read the ratios with that in mind, and with the ceiling the benchmark prints: storescp's time per
# instance plus one disk flush (for one association; concurrent ones share flushes).
#
# With --associations N the instances are split into N parts (in file order, so a series stays
# mostly in one part) that N storescu processes send at the same time, each in one association;
# the time is from the first start to the last storescu's end. storescp then runs with --fork (one
# process per association; without it, it serves associations one after the other). For
# livernode the benchmark also prints journal flushes per instance, read from /metrics before
# and after the sending (below 1 when concurrent associations share a flush).
#
# Every peer's files stay until the end of the benchmark: deleting thousands of files right
# before the next peer starts slows that peer's file creation (ext4 searches past recently freed
# inodes), which would bill one peer for another's clean-up.
#
# Usage: bench/ingest.sh [--livernode BIN] [--slices N] [--matrix N] [--repeats N] [--work DIR]
#                        [--associations N] [--skip-latency] [--skip-ingest]
# Prints a table; exits non-zero when a peer fails to receive every instance.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
livernode="${LIVERNODE:-$here/../build/node/livernode}"
slices=100   # 4 phases x 100 = 400 instances
matrix=256   # the phantom's default; 512 for the size of a clinical CT slice
repeats=3
associations=1  # concurrent storescu processes, each sending its part of the instances
work=""
do_latency=1
do_ingest=1
while [ $# -gt 0 ]; do
  case "$1" in
    --livernode) livernode="$2"; shift 2 ;;
    --slices) slices="$2"; shift 2 ;;
    --matrix) matrix="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --associations) associations="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --skip-latency) do_latency=0; shift ;;
    --skip-ingest) do_ingest=0; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in storescu storescp echoscu Orthanc curl python3; do
  command -v "$tool" > /dev/null || { echo "bench/ingest.sh: $tool not found" >&2; exit 2; }
done
[ "$associations" -ge 1 ] 2> /dev/null || { echo "bench/ingest.sh: --associations needs a number >= 1" >&2; exit 2; }
[ -x "$livernode" ] || { echo "bench/ingest.sh: livernode binary not found: $livernode (--livernode BIN)" >&2; exit 2; }

if [ -z "$work" ]; then work="$(mktemp -d /tmp/livernode-bench-ingest.XXXXXX)"; keep=0; else mkdir -p "$work"; keep=1; fi
. "$(dirname "$0")/lib.sh"
bench_cleanup_on_exit

now() { date +%s.%N; }
# Load average and the share of time some task waited for the disk (Linux PSI, last 10 s):
# fsync-bound receivers slow down a lot when other work on the machine writes to the same disk.
machine_load() {
  local io="n/a"
  [ -r /proc/pressure/io ] && io="$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/io) %"
  echo "load $(cut -d' ' -f1-3 /proc/loadavg), io pressure $io"
}
count_files() { find "$1" -type f -name "$2" 2> /dev/null | wc -l; }

# --- the instances ---------------------------------------------------------------------------
data="$work/phantom"
"$livernode" phantom --out "$data" --slices "$slices" --matrix "$matrix" > "$work/phantom.log"
src="$data/dicom"
n_instances=$(count_files "$src" '*.dcm')
bytes=$(du -sb "$src" | cut -f1)
echo "instances: $n_instances uncompressed CT ($((bytes / 1024 / 1024)) MiB) from 'livernode phantom --slices $slices --matrix $matrix'"
# The parts of --associations: hard links (no copies) in $work/parts/<k>, consecutive files in
# each, one storescu per part.
parts=()
if [ "$associations" -gt 1 ]; then
  mapfile -t files < <(find "$src" -type f -name '*.dcm' | sort)
  per=$(( (n_instances + associations - 1) / associations ))
  for k in $(seq 0 $((associations - 1))); do
    dir="$work/parts/$k"
    mkdir -p "$dir"
    for f in "${files[@]:$((k * per)):$per}"; do ln "$f" "$dir/" 2> /dev/null || cp "$f" "$dir/"; done
    [ -n "$(ls -A "$dir")" ] && parts+=("$dir")
  done
  echo "associations: ${#parts[@]} at once, up to $per instances each"
else
  parts=("$src")
fi
echo "machine: $(nproc) cores, before: $(machine_load)"
# What one durable acknowledgement costs at least on this disk: writing an instance's bytes into
# a file whose blocks exist already, then fdatasync -- with direct I/O, as the ingest journal
# writes, where the file system has it. A receiver that flushes once per instance cannot go
# faster than storescp's time per instance plus this.
flush_ms=$(python3 - "$work" "$((bytes / n_instances))" << 'EOF'
import mmap, os, statistics, sys, time
path, size = os.path.join(sys.argv[1], "flush-probe"), -(-int(sys.argv[2]) // 4096) * 4096
count = 200
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
os.pwrite(fd, bytes(size * count), 0)
os.fsync(fd)
os.close(fd)
try:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_DIRECT", 0))
except OSError:
    fd = os.open(path, os.O_RDWR)
block = mmap.mmap(-1, size)  # page aligned, as direct I/O needs
block.write(os.urandom(size))
samples = []
for i in range(count):
    t = time.perf_counter()
    os.pwrite(fd, block, i * size)
    os.fdatasync(fd)
    samples.append(time.perf_counter() - t)
os.close(fd)
os.unlink(path)
print(f"{statistics.median(samples) * 1000:.3f}")
EOF
)
echo "disk: write + fdatasync of one instance into pre-written blocks: median $flush_ms ms"

send() {  # send PORT AET: one association per part, all at once; prints seconds
  local t0 t1 k failed=0
  local -a senders=()
  t0=$(now)
  for k in "${!parts[@]}"; do
    TCP_NODELAY=1 storescu -aet BENCH -aec "$2" 127.0.0.1 "$1" +sd +r "${parts[$k]}" > "$work/storescu-$k.log" 2>&1 &
    senders+=("$!")
  done
  for k in "${!senders[@]}"; do
    wait "${senders[$k]}" ||
      { failed=1; echo "storescu $k to $2 failed:" >&2; cat "$work/storescu-$k.log" >&2; }
  done
  t1=$(now)
  [ "$failed" = 0 ] || return 1
  python3 -c "print(f'{$t1-$t0:.3f}')"
}

run_storescp() {  # prints seconds
  local dir="$work/storescp-$1" port; port=$(free_port)
  mkdir -p "$dir"
  local fork=(); [ "${#parts[@]}" -gt 1 ] && fork=(--fork)
  TCP_NODELAY=1 storescp "${fork[@]}" -aet STORESCP -od "$dir" "$port" > "$dir.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  wait_for 10 echoscu -aet BENCH -aec STORESCP 127.0.0.1 "$port"
  local s; s=$(send "$port" STORESCP)
  stop_pid "$pid"
  local got; got=$(count_files "$dir" '*')
  [ "$got" -eq "$n_instances" ] || { echo "storescp stored $got of $n_instances" >&2; return 1; }
  echo "$s"
}

start_orthanc() {  # start_orthanc DIR: sets orthanc_pid, orthanc_dicom, orthanc_http
  local dir="$1"
  mkdir -p "$dir/storage"
  orthanc_dicom=$(free_port); orthanc_http=$(free_port)
  while [ "$orthanc_http" = "$orthanc_dicom" ]; do orthanc_http=$(free_port); done
  cat > "$dir/orthanc.json" << EOF
{ "Name": "bench", "StorageDirectory": "$dir/storage", "IndexDirectory": "$dir/storage",
  "DicomAet": "ORTHANC", "DicomPort": $orthanc_dicom, "HttpPort": $orthanc_http,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "DicomCheckCalledAet": false,
  "DicomAlwaysAllowStore": true, "DicomAlwaysAllowEcho": true, "UnknownSopClassAccepted": true,
  "Plugins": [], "HttpServerEnabled": true, "DicomServerEnabled": true, "StableAge": 1 }
EOF
  TCP_NODELAY=1 Orthanc "$dir/orthanc.json" > "$dir/orthanc.log" 2>&1 &
  orthanc_pid=$!; pids+=("$orthanc_pid")
  wait_for 30 curl -sf "http://127.0.0.1:$orthanc_http/system" ||
    { echo "Orthanc did not start:" >&2; tail -20 "$dir/orthanc.log" >&2; return 1; }
}
orthanc_count() { curl -sf "http://127.0.0.1:$1/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])'; }

run_orthanc() {
  local dir="$work/orthanc-$1"
  start_orthanc "$dir"
  local s; s=$(send "$orthanc_dicom" ORTHANC)
  local got; got=$(orthanc_count "$orthanc_http")
  stop_pid "$orthanc_pid"
  [ "$got" -eq "$n_instances" ] || { echo "Orthanc stored $got of $n_instances" >&2; return 1; }
  echo "$s"
}

write_node_config() {  # write_node_config DIR EXTRA_YAML: sets node_dicom, node_http
  local dir="$1"
  node_dicom=$(free_port); node_http=$(free_port)
  while [ "$node_http" = "$node_dicom" ]; do node_http=$(free_port); done
  mkdir -p "$dir"
  cat > "$dir/node.yaml" << EOF
node:
  ae_title: LIVERNODE
  port: $node_dicom
  max_associations: $((associations + 3))
  max_associations_per_source: $associations
storage:
  spool_dir: $dir/spool
  state_db: $dir/state.sqlite
  results_dir: $dir/results
  min_free_disk_mb: 1
study_completion:
  series_quiet_s: 1
  study_quiet_s: 1
  max_wait_s: 600
http:
  bind_address: 127.0.0.1
  port: $node_http
logging:
  level: warn
$2
EOF
}
start_node() {
  local dir="$1"
  "$livernode" serve --config "$dir/node.yaml" > "$dir/serve.log" 2>&1 &
  node_pid=$!; pids+=("$node_pid")
  wait_for 30 curl -sf "http://127.0.0.1:$node_http/readyz" ||
    { echo "livernode did not start:" >&2; tail -20 "$dir/serve.log" >&2; return 1; }
}

# node_metric NAME: the value of one counter in the node's /metrics (empty when it has none).
node_metric() {
  curl -sf "http://127.0.0.1:$node_http/metrics" | awk -v name="$1" '$1 == name { print $2 }'
}

run_node() {  # prints seconds; journal flushes per instance into $work/node-N.flushes
  local dir="$work/node-$1"
  # A rule for MR only: the CT instances are received, spooled and indexed, never analysed.
  write_node_config "$dir" "routing:
  rules:
    - name: nothing
      modalities: [MR]
      action: analyse"
  start_node "$dir"
  local f0 f1; f0=$(node_metric livernode_ingest_journal_flushes_total)
  local s; s=$(send "$node_dicom" LIVERNODE)
  f1=$(node_metric livernode_ingest_journal_flushes_total)
  stop_pid "$node_pid"
  if [ -n "$f0" ] && [ -n "$f1" ]; then
    python3 -c "print(f'{($f1 - $f0) / $n_instances:.3f}')" > "$dir.flushes"
  else
    echo "n/a" > "$dir.flushes"  # a livernode without the flush counter
  fi
  local got; got=$(count_files "$dir/spool" '*.dcm')
  [ "$got" -eq "$n_instances" ] || { echo "livernode spooled $got of $n_instances" >&2; return 1; }
  echo "$s"
}

rate() { python3 -c "print(f'{$n_instances/$1:.1f}')"; }

if [ "$do_ingest" = 1 ]; then
  declare -a t_scp t_orthanc t_node f_node
  for i in $(seq 1 "$repeats"); do
    t_scp+=("$(run_storescp "$i")")
    t_orthanc+=("$(run_orthanc "$i")")
    t_node+=("$(run_node "$i")")
    f_node+=("$(cat "$work/node-$i.flushes")")
    echo "run $i: storescp ${t_scp[-1]} s, Orthanc ${t_orthanc[-1]} s, livernode ${t_node[-1]} s" \
      "(${f_node[-1]} journal flushes per instance; $(machine_load))"
  done
  python3 - "$n_instances" "${t_scp[*]}" "${t_orthanc[*]}" "${t_node[*]}" "$flush_ms" \
    "${#parts[@]}" "${f_node[*]}" << 'EOF'
import statistics, sys
n = int(sys.argv[1])
runs = {name: [float(x) for x in arg.split()] for name, arg in
        zip(["storescp", "Orthanc", "livernode"], sys.argv[2:5])}
flush_s = float(sys.argv[5]) / 1000
print(f"\n{sys.argv[6]} association(s) at once per peer")
print(f"\n{'peer':<10} {'images/s per run':<28} {'median':>8}")
med = {}
for name, ts in runs.items():
    rates = [n / t for t in ts]
    med[name] = statistics.median(rates)
    print(f"{name:<10} {', '.join(f'{r:7.1f}' for r in rates):<28} {med[name]:8.1f}")
print(f"\nlivernode / storescp: {med['livernode'] / med['storescp']:.2f}")
print(f"livernode / Orthanc:  {med['livernode'] / med['Orthanc']:.2f}")
per_scp = 1 / med["storescp"]
print(f"ceiling for a receiver that flushes once per instance: {per_scp / (per_scp + flush_s):.2f}"
      f" of storescp ({per_scp * 1000:.2f} ms per instance + {flush_s * 1000:.2f} ms flush)")
flushes = [float(x) for x in sys.argv[7].split() if x != "n/a"]
print("livernode journal flushes per instance: " +
      (f"{', '.join(f'{x:.3f}' for x in flushes)} (median {statistics.median(flushes):.3f})"
       if flushes else "n/a (no livernode_ingest_journal_flushes_total in /metrics)"))
EOF
  echo "after ingest runs: $(machine_load)"
fi

# --- last instance received -> last result in Orthanc ------------------------------------------
if [ "$do_latency" = 1 ]; then
  echo
  study="$work/latency-study"
  "$livernode" phantom --out "$study" > /dev/null
  lsrc="$study/dicom"
  ln=$(count_files "$lsrc" '*.dcm')
  start_orthanc "$work/latency-orthanc"
  write_node_config "$work/latency-node" "destinations:
  - name: orthanc
    ae_title: ORTHANC
    host: 127.0.0.1
    port: $orthanc_dicom
    accepts: [seg, sr, summary, pdf]"
  start_node "$work/latency-node"
  TCP_NODELAY=1 storescu -aet BENCH -aec LIVERNODE 127.0.0.1 "$node_dicom" +sd +r "$lsrc" > "$work/storescu.log" 2>&1
  t_last=$(now)  # storescu has its C-STORE-RSP for the last instance
  jobs_url="http://127.0.0.1:$node_http/api/jobs"
  job_done() { curl -sf "$jobs_url" | python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if j and j[0]["state"] in ("done","failed") else 1)'; }
  wait_for 900 job_done || { echo "no job finished within 900 s" >&2; exit 1; }
  t_job=$(now)
  read -r state objects < <(curl -sf "$jobs_url" | python3 -c 'import json,sys; j=json.load(sys.stdin)[0]; print(j["state"], j["objects"])')
  [ "$state" = done ] || { echo "the analysis failed:" >&2; curl -sf "$jobs_url" >&2; exit 1; }
  all_there() { [ "$(orthanc_count "$orthanc_http")" -ge "$objects" ]; }
  wait_for 300 all_there || { echo "Orthanc holds $(orthanc_count "$orthanc_http") of $objects results" >&2; exit 1; }
  t_delivered=$(now)
  python3 - "$t_last" "$t_job" "$t_delivered" "$ln" "$objects" << 'EOF'
import sys
last, job, delivered = map(float, sys.argv[1:4])
print(f"latency (default phantom, {sys.argv[4]} instances -> {sys.argv[5]} result objects):")
print(f"  last instance received -> job done:              {job - last:7.1f} s"
      " (includes series_quiet_s=1 + study_quiet_s=1)")
print(f"  last instance received -> last result in Orthanc: {delivered - last:7.1f} s")
EOF
  echo "after latency run: $(machine_load)"
fi
