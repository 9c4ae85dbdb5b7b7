#!/usr/bin/env bash
# Installs, builds, and runs the main job end to end on the embedded default, all on loopback:
#   a synthetic four-phase abdominal CT study (with ground truth) is generated;
#   a real Orthanc (Debian package) is started as the PACS;
#   `livernode serve` is started with that Orthanc as its destination;
#   storescu sends the study to the node, which analyses it and delivers SEG, SR, summary
#   images and PDF to the Orthanc; the script waits for them and prints what arrived.
# Everything lives under OUT (default demo-out); both servers are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
BUILD_DIR="$(realpath -m "${LIVERNODE_BUILD_DIR:-build}")"
LIVERNODE="$BUILD_DIR/node/livernode"
OUT="$(realpath -m "${1:-demo-out}")"
rm -rf "$OUT"
mkdir -p "$OUT/pacs/storage" "$OUT/node"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PACS_DICOM=$(free_port); PACS_HTTP=$(free_port); NODE_DICOM=$(free_port); NODE_HTTP=$(free_port)

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_for() {  # URL, seconds, what
  for _ in $(seq 1 $(( $2 * 5 ))); do
    if curl -sf "$1" >/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "demo: $3 did not come up; see its log under $OUT" >&2
  exit 1
}

echo "== 1. Synthetic study (four contrast phases, five lesions, known volumes)"
"$LIVERNODE" phantom --out "$OUT/phantom" --seed 1

echo "== 2. Orthanc as the PACS (DICOM port $PACS_DICOM, REST port $PACS_HTTP)"
cat > "$OUT/pacs/orthanc.json" <<EOF
{ "Name": "demo-pacs", "StorageDirectory": "$OUT/pacs/storage", "IndexDirectory": "$OUT/pacs/storage",
  "DicomAet": "PACS", "DicomPort": $PACS_DICOM, "HttpPort": $PACS_HTTP,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "DicomCheckCalledAet": false,
  "DicomAlwaysAllowStore": true, "UnknownSopClassAccepted": true, "Plugins": [] }
EOF
Orthanc "$OUT/pacs/orthanc.json" > "$OUT/pacs/orthanc.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$PACS_HTTP/system" 30 "Orthanc"

echo "== 3. livernode serve (AE LIVERNODE on port $NODE_DICOM, HTTP on $NODE_HTTP)"
cat > "$OUT/node/livernode.yaml" <<EOF
node:
  ae_title: LIVERNODE
  bind_address: 127.0.0.1
  port: $NODE_DICOM
storage:
  spool_dir: spool
  state_db: state.sqlite
  results_dir: results
study_completion:
  series_quiet_s: 2
  study_quiet_s: 3
http:
  bind_address: 127.0.0.1
  port: $NODE_HTTP
destinations:
  - name: demo-pacs
    ae_title: PACS
    host: 127.0.0.1
    port: $PACS_DICOM
    accepts: [seg, sr, summary, pdf]
EOF
"$LIVERNODE" check-config "$OUT/node/livernode.yaml" >/dev/null
"$LIVERNODE" serve --config "$OUT/node/livernode.yaml" > "$OUT/node/serve.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$NODE_HTTP/readyz" 30 "livernode serve"

echo "== 4. The modality sends the study (storescu, $(find "$OUT/phantom/dicom" -type f | wc -l) instances)"
echoscu -aet MODALITY -aec LIVERNODE 127.0.0.1 "$NODE_DICOM"
TCP_NODELAY=1 storescu -aet MODALITY -aec LIVERNODE +sd +r 127.0.0.1 "$NODE_DICOM" "$OUT/phantom/dicom"

echo "== 5. Waiting for the analysis and the delivery to the PACS"
state=""
for _ in $(seq 1 600); do
  state=$(curl -sf "http://127.0.0.1:$NODE_HTTP/api/jobs" | python3 -c '
import json, sys
jobs = json.load(sys.stdin)
print(jobs[0]["state"] if jobs else "waiting")')
  pending=$(curl -sf "http://127.0.0.1:$NODE_HTTP/api/outbox" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["state"] != "delivered"))')
  if [ "$state" = "failed" ]; then break; fi
  if [ "$state" = "done" ] && [ "$pending" = "0" ]; then break; fi
  sleep 1
done
if [ "$state" != "done" ]; then
  echo "demo: the analysis did not finish (job state: $state); see $OUT/node/serve.log" >&2
  exit 1
fi

echo "== 6. What the PACS received"
curl -sf "http://127.0.0.1:$PACS_HTTP/series?expand" | python3 -c '
import json, sys
for s in sorted(json.load(sys.stdin), key=lambda s: s["MainDicomTags"].get("SeriesNumber", "")):
    t = s["MainDicomTags"]
    print("  %-4s %-50s %3d instance(s)" % (t.get("Modality", "?"), t.get("SeriesDescription", "")[:50], len(s["Instances"])))'
summary=$(find "$OUT/node/results" -name summary.json | head -n 1)
python3 - "$summary" "$OUT/phantom/truth/manifest.json" <<'EOF'
import json, sys
summary, truth = (json.load(open(p)) for p in sys.argv[1:3])
a = summary["analyses"][0]
print("\nPhases found from the images:")
for s in a["series"]:
    print("  %-30s -> %s" % (s["description"], s["phase"]["detected"]))
v = a["volumetry"]
print("Liver %.0f mL (truth %.0f mL), tumour %.1f mL (truth %.1f mL), burden %.1f %%" % (
    v["liver_ml"], truth["liver_volume_ml"], v["tumour_ml"], truth["tumour_volume_ml"],
    v["tumour_burden_percent"]))
for l in a["lesions"]:
    print("  lesion %d: %.1f mL, %.0f x %.0f mm, %s" % (
        l["number"], l["volume_ml"], l["longest_diameter_mm"], l["short_axis_mm"], l["type"]))
EOF
echo
echo "Ground truth of the phantom: $OUT/phantom/truth/manifest.json"
echo "Analysis summary:            $summary"
echo "Node log:                    $OUT/node/serve.log"
