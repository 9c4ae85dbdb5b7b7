#!/usr/bin/env bash
# Installs everything livernode needs to build, run and test, from Debian 12 packages only.
# Idempotent: packages already present are left as they are.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config ninja-build ccache
  # the source checks of the test suite (scripts/check_format.sh, scripts/check_rooms.py)
  clang-format python3
  # libraries
  libdcmtk-dev libinsighttoolkit5-dev libgdcm-dev
  libboost-dev libboost-system-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libsqlite3-dev nlohmann-json3-dev
  libpq-dev
  libcairo2-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev
  # real peers used by the tests and the demo
  # (postgresql: the server the PostgreSQL state store tests start in a temporary folder)
  dcmtk orthanc dicom3tools postgresql python3-pydicom python3-numpy curl openssl
  # the lesion insertion bench (bench/tumour_insertion.py)
  python3-scipy
  # headless browser for the admin page tests (python3-pil reads their screenshot); PDF text
  # and rendering for the report test
  chromium python3-pil poppler-utils
  # dcmjs, which the tests read the results with as web viewers do (tests/js)
  nodejs
)
# Debian's npm; a Node.js from elsewhere that brings its own npm (and conflicts with Debian's) is
# kept as it is.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  # The Debian orthanc package starts a system service on install; the tests start their own.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now orthanc >/dev/null 2>&1 || true; fi
fi

# The npm packages the tests use, at the versions of tests/js/package-lock.json, into
# tests/js/node_modules (not committed).
JS_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/js"
if [ -f "$JS_DIR/package-lock.json" ] && [ ! -d "$JS_DIR/node_modules/dcmjs" ]; then
  echo "install-deps: npm ci in $JS_DIR"
  (cd "$JS_DIR" && npm ci --no-audit --no-fund --ignore-scripts)
fi
