#!/usr/bin/env bash
# Soak of the healing path: two local instances behind dockmaster, one SIGKILLed every
# 30 s and healed by the local executor, under a steady GET/POST load; restarts per kill
# and failed requests. usage: benchmarks/soak_heal.sh [--duration S] [--kill-every S]
# [--rate N] [--mix G:P] [--boot-ms MS]   (see benchmarks/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "soak_heal: python3 missing (scripts/setup.sh)" >&2; exit 1; }
[[ -x ${DOCKMASTER_BIN:-build-release/dockmaster} ]] || scripts/build.sh release >&2
exec python3 benchmarks/soak_heal.py "$@"
