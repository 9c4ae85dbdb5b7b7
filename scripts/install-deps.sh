#!/usr/bin/env bash
# Installs everything livernode needs to build, run and test, from Debian 12 packages only.
# Idempotent: packages already present are left as they are.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config ninja-build ccache
  # libraries
  libdcmtk-dev libinsighttoolkit5-dev libgdcm-dev
  libboost-dev libboost-system-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libsqlite3-dev nlohmann-json3-dev
  libcairo2-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev
  # real peers used by the tests and the demo
  dcmtk orthanc dicom3tools python3-pydicom python3-numpy curl openssl
  # headless browser for the admin page test
  chromium
)

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
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
# The Debian orthanc package starts a system service on install; the tests start their own.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now orthanc >/dev/null 2>&1 || true; fi
