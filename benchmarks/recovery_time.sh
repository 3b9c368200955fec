#!/usr/bin/env bash
# Time to recover from a dead service process: exec restart vs container restart, in
# one run. usage: benchmarks/recovery_time.sh [--rounds N] [--fast-interval MS]
#   --traffic [--rate N] [--mix G:P]: under a steady load, for a dead and a hung
#   service: failed requests, latency during the heal, time to recover (benchmarks/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
[[ -x build-release/dockmaster ]] || scripts/build.sh release >&2
eval "$(scripts/docker_engine.sh start)"
scripts/docker_engine.sh images >&2
exec python3 benchmarks/recovery_time.py "$@"
