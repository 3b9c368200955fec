#!/usr/bin/env bash
# Throughput against the number of client connections: run_throughput.sh once per count
# (default 10, 50, 200 and 1,000 connections), every target side by side in each run, then
# one table of rps, p99 and dockmaster's ratios per count. See benchmarks/README.md.
#
# usage: benchmarks/run_curve.sh [--counts LIST] [any run_throughput.sh option but
#                                 --connections, --out and --suite]
set -euo pipefail

counts=10,50,200,1000
pass=()
while (($#)); do
  case $1 in
    --counts) counts=${2:?}; shift 2 ;;
    --connections | --out | --suite) echo "$1 is set by run_curve.sh per count" >&2; exit 2 ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done
[[ $counts =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "--counts: comma-separated positive integers" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp=$(date +%Y%m%d-%H%M%S)
results=()
IFS=, read -r -a list <<<"$counts"
for c in "${list[@]}"; do
  out="$here/results/curve-$stamp-c$c.json"
  "$here/run_throughput.sh" --connections "$c" --suite "curve-c$c" --out "$out" "${pass[@]}"
  results+=("$out")
done

python3 - "$here/results/curve-$stamp.txt" "${results[@]}" <<'PYEOF'
import json, sys
out, paths = sys.argv[1], sys.argv[2:]
targets = ["direct", "dockmaster", "nginx", "haproxy"]
def fmt(v, spec):
    return format(v, spec) if v is not None else "-"
lines = ["connections  " + "".join(f"{t + ' rps':>16}" for t in targets)
         + f"{'dm p99':>9}{'ng p99':>9}{'ha p99':>9}{'/nginx':>8}{'/haproxy':>10}"]
for path in paths:
    doc = json.load(open(path))
    s, r = doc["summary"], doc.get("ratios", {}).get("dockmaster", {})
    row = f"{doc['parameters']['connections']:>11}  "
    row += "".join(f"{fmt(s.get(t, {}).get('rps_median'), ',.0f'):>16}" for t in targets)
    row += "".join(f"{fmt(s.get(t, {}).get('p99_ms_median'), '.2f'):>9}" for t in ("dockmaster", "nginx", "haproxy"))
    row += f"{fmt(r.get('rps_vs_nginx'), '.2f'):>8}{fmt(r.get('rps_vs_haproxy'), '.2f'):>10}"
    lines.append(row)
text = "\n".join(lines) + "\n(p99 in ms; medians over the rounds; each row is one run_throughput.sh run)\n"
open(out, "w").write(text)
print()
print(text, end="")
print(f"results: {out} and the per-count .json files next to it")
PYEOF
