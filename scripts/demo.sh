#!/usr/bin/env bash
# Installs, builds, and runs the main job end to end on the embedded default: a synthetic
# four-phase abdominal CT study is generated and analysed; the results are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
BUILD_DIR="${LIVERNODE_BUILD_DIR:-build}"
OUT="${1:-demo-out}"
rm -rf "$OUT"
"$BUILD_DIR/node/livernode" phantom --out "$OUT/phantom" --seed 1
"$BUILD_DIR/node/livernode" analyze "$OUT/phantom/dicom" --out "$OUT/results"
echo
echo "Ground truth of the phantom: $OUT/phantom/truth/manifest.json"
echo "Analysis results:            $OUT/results/summary.json"
