#!/usr/bin/env bash
# Configures and builds livernode in ./build (Release with debug info, Ninja, both cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${LIVERNODE_BUILD_DIR:-build}"
# ccache, when installed, makes a rebuild after a change (or in a second checkout) cheap.
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
