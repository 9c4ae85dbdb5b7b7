#!/usr/bin/env bash
# Configures and builds livernode in ./build (Release with debug info, Ninja, both cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${LIVERNODE_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
