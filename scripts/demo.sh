#!/usr/bin/env bash
# Sets up the machine, builds dockmaster and runs it in front of a small demo frontend
# and backend on loopback. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release

python3 scripts/demo_upstreams.py 3000 8000 &
upstreams=$!
trap 'kill $upstreams 2>/dev/null || true' EXIT

echo
echo "dockmaster demo: open http://127.0.0.1:8080/   (API: http://127.0.0.1:8080/api/items/)"
echo
build-release/dockmaster --config config/examples/demo.json
