#!/usr/bin/env bash
# Builds the Debian package livernode_<version>_amd64.deb.
#   bash scripts/package.sh [OUT_DIR]
# Configures and builds the livernode binary in LIVERNODE_BUILD_DIR (default ./build), then runs
# CPack there; the package is written to OUT_DIR (default: the build directory) and its path is
# printed last. Needs cmake, ninja, the build dependencies (scripts/install-deps.sh) and dpkg-dev
# (dpkg-shlibdeps computes Depends from the libraries the binary links).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="$(realpath -m "${LIVERNODE_BUILD_DIR:-build}")"
OUT_DIR="$(realpath -m "${1:-$BUILD_DIR}")"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" --target livernode -j "$(nproc)"
mkdir -p "$OUT_DIR"
(cd "$BUILD_DIR" && cpack -G DEB -B "$OUT_DIR" >"$OUT_DIR/cpack.log" 2>&1) || {
  cat "$OUT_DIR/cpack.log" >&2
  exit 1
}
version="$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD_DIR/CPackConfig.cmake")"
deb="$OUT_DIR/livernode_${version}_$(dpkg --print-architecture).deb"
test -f "$deb" || { echo "package.sh: $deb was not written; see $OUT_DIR/cpack.log" >&2; exit 1; }
echo "$deb"
