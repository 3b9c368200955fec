#!/usr/bin/env bash
# Sets up the machine, builds dockmaster and runs it in front of a small demo frontend
# and backend on loopback, healing the backend when it dies. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release

backend_pid=/tmp/dockmaster-demo-backend.pid
python3 scripts/demo_upstreams.py frontend 3000 &
frontend=$!
python3 scripts/demo_upstreams.py backend 8000 "$backend_pid" &
trap 'kill $frontend $(cat $backend_pid 2>/dev/null) 2>/dev/null || true' EXIT

cat <<TEXT

dockmaster demo: open http://127.0.0.1:8080/   (API: http://127.0.0.1:8080/api/items/,
status: http://127.0.0.1:8080/_dockmaster/status)
To watch a heal, kill the backend from another terminal:
  kill \$(cat $backend_pid)
and watch dockmaster notice, restart it and put it back in rotation.

TEXT
build-release/dockmaster --config config/examples/demo.json
