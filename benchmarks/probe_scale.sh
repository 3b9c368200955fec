#!/usr/bin/env bash
# The health-probe engine at scale: one nginx listening on N loopback ports (default 1,000),
# all probed once a second for 30 s by benchmarks/probe_scale_main (one health_prober, no
# actors). Reports the driver's CPU share of one core (utime+stime from /proc over the wall
# time; the whole process and the prober thread alone), its peak RSS, probe latencies and the
# pass/fail counts. Target: under 5 % of one core for 1,000 probes a second.
#
# The real dockmaster adds health_watcher actors on top; this measures the probe engine only.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/probe_scale.sh [options]

  --ports N         listeners (instances) to probe (default 1000)
  --seconds S       how long to probe (default 30)
  --interval-ms MS  probe interval per instance (default 1000)
  --timeout-ms MS   probe timeout (default 1000)
  --kind KIND       http (GET /health, default) or tcp
  --spread          spread each round's probes over the interval (10 ms slices) instead of
                    starting all of them at the start of the interval
  --driver PATH     the driver binary (default: $PROBE_SCALE_BIN, else
                    build-release/benchmarks/probe_scale_main)
  --out FILE        JSON result (default benchmarks/results/probe-scale-<timestamp>.json),
                    the report goes next to it as .txt

environment: PROBE_SCALE_BIN (the driver), PROBE_SCALE_PREFIX (words put before the driver's
command line, e.g. "strace -c -f -o /tmp/syscalls.txt" or "perf record -g -o /tmp/perf.data";
its figures then include the tool's overhead)

Exit status: 0 when every probe passed, 1 otherwise (the figures are still written).
EOF
}

ports=1000 seconds=30 interval_ms=1000 timeout_ms=1000 kind=http out="" driver_arg="" spread=()
while (($#)); do
  case $1 in
    --ports) ports=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --interval-ms) interval_ms=${2:?}; shift 2 ;;
    --timeout-ms) timeout_ms=${2:?}; shift 2 ;;
    --kind) kind=${2:?}; shift 2 ;;
    --spread) spread=(--spread); shift ;;
    --driver) driver_arg=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for value in "$ports" "$seconds" "$interval_ms" "$timeout_ms"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "numbers must be positive integers (got '$value')" >&2; exit 2; }
done
[[ $kind == http || $kind == tcp ]] || { echo "--kind is http or tcp" >&2; exit 2; }
((ports <= 20000)) || { echo "--ports: at most 20000" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# The driver: like DOCKMASTER_BIN, a relative path is taken from the current directory, else
# from the repo root.
driver=${driver_arg:-${PROBE_SCALE_BIN:-build-release/benchmarks/probe_scale_main}}
if [[ $driver != /* && ! -e $driver ]]; then driver="$REPO_ROOT/$driver"; fi
[[ -f $driver && -x $driver ]] ||
  die "no driver at $driver: build it (target probe_scale_main, e.g. cmake --build build-release --target probe_scale_main) or pass --driver / set PROBE_SCALE_BIN"
driver=$(cd "$(dirname "$driver")" && pwd)/$(basename "$driver")

bench_init nginx
# nginx: one descriptor per listener plus the connections; the driver: one per probe in
# flight (at most `ports`, more when probes pile up).
fd_limit=$(ulimit -n)
((fd_limit >= ports + 1024)) || die "the open-files limit is $fd_limit; $ports listeners need about $((ports + 1024))"

# A contiguous range of free ports below the ephemeral range, so that the probes' own
# source ports never collide with it. The sockets are bound all at once, then released.
first_port=$(python3 - "$ports" <<'EOF'
import socket, sys
count = int(sys.argv[1])
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
for first in range(10000, 65536 - count, 1000):
    if first < low <= first + count - 1:
        continue  # would overlap the ephemeral range
    held = []
    try:
        for port in range(first, first + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    print(first)
    sys.exit(0)
sys.exit("no free range of %d consecutive loopback ports" % count)
EOF
) || die "cannot find $ports consecutive free ports"
last_port=$((first_port + ports - 1))

dir="$bench_tmp/instances"
mkdir -p "$dir"
{
  nginx_main_directives "$dir" 4096
  echo "http {"
  echo "    access_log off;"
  nginx_temp_paths "$dir"
  echo "    server {"
  for ((port = first_port; port <= last_port; port++)); do echo "        listen 127.0.0.1:$port;"; done
  echo "        default_type text/plain;"
  printf '%s\n' '        location = /health { return 200 "ok\n"; }'
  echo "        location / { return 404; }"
  echo "    }"
  echo "}"
} >"$dir/nginx.conf"
log "nginx: $ports listeners on 127.0.0.1:$first_port-$last_port"
start_nginx "instances" "$dir"
nginx_pid=$STARTED_PID

# Ready when the first and the last listener answer /health.
deadline=$(($(now_ms) + 10000))
for port in "$first_port" "$last_port"; do
  until [[ $(curl --noproxy '*' -s --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" 2>/dev/null) == 200 ]]; do
    kill -0 "$nginx_pid" 2>/dev/null || { show_log_tail "$dir/error.log"; die "nginx exited"; }
    (($(now_ms) < deadline)) || { show_log_tail "$dir/error.log"; die "nginx is not answering on 127.0.0.1:$port/health within 10 s"; }
    sleep 0.1
  done
done

# nginx's own CPU over the run, for context: the sum over its process group.
group_ticks() {
  local total=0 pid stat rest
  for pid in $(pgrep -g "$1" 2>/dev/null); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    read -r -a fields <<<"$rest"
    total=$((total + fields[11] + fields[12])) # utime, stime: fields 14 and 15 of the line
  done
  echo "$total"
}
clk_tck=$(getconf CLK_TCK)

log "probing every ${interval_ms} ms for ${seconds} s (${spread:+spread over the interval}${spread:-all at once}) with $driver"
nginx_ticks_before=$(group_ticks "$nginx_pid")
nginx_start_ms=$(now_ms)
read -r -a prefix <<<"${PROBE_SCALE_PREFIX:-}"
set +e
"${prefix[@]}" "$driver" --ports "$first_port-$last_port" --interval-ms "$interval_ms" --seconds "$seconds" \
  --timeout-ms "$timeout_ms" --kind "$kind" "${spread[@]}" >"$bench_tmp/driver.out" 2>"$bench_tmp/driver.err"
driver_status=$?
set -e
nginx_ticks=$(($(group_ticks "$nginx_pid") - nginx_ticks_before))
nginx_wall_ms=$(($(now_ms) - nginx_start_ms))
cat "$bench_tmp/driver.err" >&2
((driver_status == 0)) || { cat "$bench_tmp/driver.out" >&2; die "the driver exited with status $driver_status"; }
result=$(sed -n 's/^RESULT //p' "$bench_tmp/driver.out")
[[ -n $result ]] || { cat "$bench_tmp/driver.out" >&2; die "no RESULT line from the driver"; }

stamp=$(date +%Y%m%d-%H%M%S)
[[ -n $out ]] || out="$BENCH_DIR/results/probe-scale-$stamp.json"
mkdir -p "$(dirname "$out")"
txt="${out%.json}.txt"

python3 - "$result" "$out" "$txt" "$REPO_ROOT" "$driver" "$nginx_ticks" "$clk_tck" "$nginx_wall_ms" \
  "$first_port" "$last_port" "$kind" "$bench_tmp/driver.out" <<'EOF'
import json, os, subprocess, sys, time
result = json.loads(sys.argv[1])
out, txt, repo, driver = sys.argv[2:6]
nginx_ticks, clk_tck, nginx_wall_ms = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
first, last, kind, driver_out = int(sys.argv[9]), int(sys.argv[10]), sys.argv[11], sys.argv[12]

def run(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (p.stdout + p.stderr).strip()
        return text.splitlines()[0] if text else None
    except (OSError, subprocess.SubprocessError):
        return None

commit = run(["git", "-C", repo, "rev-parse", "--short", "HEAD"])
dirty = run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"])
nginx_cpu = 100.0 * nginx_ticks / clk_tck / (nginx_wall_ms / 1000.0) if nginx_wall_ms else None
document = {
    "suite": "probe-scale",
    "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "git_commit": commit + ("+dirty" if dirty else "") if commit else None,
    "driver": os.path.relpath(driver, repo),
    "kind": kind,
    "port_range": [first, last],
    "machine": {"nproc": os.cpu_count(), "kernel": os.uname().release, "loadavg": os.getloadavg()},
    "nginx": {"version": run(["nginx", "-v"]), "cpu_percent": nginx_cpu},
    "result": result,
    "target_cpu_percent": 5.0,
    "target_met": result["cpu_percent"] < 5.0,
}
with open(out, "w") as f:
    json.dump(document, f, indent=2)
    f.write("\n")
r = result
lines = [
    f"dockmaster probe-scale  {document['finished_at']}  (git {document['git_commit'] or '?'})",
    f"{r['ports']} instances ({kind}, 127.0.0.1:{first}-{last}), every {r['interval_ms']} ms "
    f"({'spread over the interval' if r['spread'] else 'all at once'}), "
    f"{r['rounds']} rounds, timeout {r['timeout_ms']} ms; {os.cpu_count()} CPUs, "
    f"load {document['machine']['loadavg'][0]:.2f}",
    "",
    f"probes           {r['started']} started, {r['passed']} passed, {r['failed']} failed, {r['unfinished']} unfinished",
]
for detail, n in r["failures"].items():
    lines.append(f"  failure        {n} x {detail}")
lines += [
    f"driver CPU       {r['cpu_percent']:.2f} % of one core ({r['cpu_s']:.2f} s over {r['wall_s']:.1f} s: "
    f"user {r['user_s']:.2f} s, system {r['system_s']:.2f} s)"
    f"  -> target < 5 %: {'met' if document['target_met'] else 'NOT met'}",
    f"  prober thread  {r['prober_cpu_percent']:.2f} % of one core",
    f"driver max RSS   {r['max_rss_kib'] / 1024:.1f} MiB",
    f"probe duration   p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms, max {r['max_ms']:.3f} ms",
    f"backlog          at most {r['max_in_flight_at_tick']} probes still in flight at a tick",
    f"nginx CPU        {nginx_cpu:.2f} % of one core (the {r['ports']} instances, for context)"
    if nginx_cpu is not None else "nginx CPU        ?",
]
text = "\n".join(lines) + "\n"
with open(txt, "w") as f:
    f.write(text)
print(text, end="")
print(f"\nresults: {os.path.relpath(out, repo)} and .txt")
EOF

failed=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["failed"] + r["unfinished"])' "$result")
((failed == 0)) || { log "$failed probes did not pass"; exit 1; }
