#!/usr/bin/env bash
# Builds dockmaster. usage: scripts/build.sh [release|debug|asan|fuzz] [TARGET...]
# (default: release, every target; `scripts/build.sh release dockmaster` builds only the binary)
# Build folders: build-release, build-debug, build-asan; fuzz builds only the libFuzzer
# harnesses of tests/fuzz/ with clang, in build-fuzz (scripts/fuzz.sh runs them).
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-release}
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug) flags=(-DCMAKE_BUILD_TYPE=Debug) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DDOCKMASTER_SANITIZE=ON) ;;
  fuzz) flags=(-DCMAKE_BUILD_TYPE=Debug -DDOCKMASTER_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 [release|debug|asan|fuzz]" >&2; exit 2 ;;
esac

cmake -S . -B "build-$kind" -G Ninja "${flags[@]}" >/dev/null
ninja -C "build-$kind" -j"$(nproc)" "${@:2}"
