#!/usr/bin/env bash
# The actor-config matrix: dockmaster once per benchmarks/configs/*.json fragment, with the
# upstream loaded directly and nginx as the references in every round. Takes the options of
# run_throughput.sh (--rounds, --duration, --connections, --warmup, --configs, --out);
# the result is benchmarks/results/matrix-<timestamp>.json and .txt.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  echo "usage: benchmarks/run_matrix.sh [--rounds N] [--duration S] [--connections C] [--configs GLOB] [--out FILE]"
  echo "(default configs: benchmarks/configs/*.json; other options as in run_throughput.sh --help)"
  exit 0
fi
exec "$here/run_throughput.sh" --suite matrix --targets direct,nginx,dockmaster \
  --configs "$here/configs/*.json" "$@"
