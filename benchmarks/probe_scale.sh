#!/usr/bin/env bash
# The health-probe engine at scale: one nginx listening on N loopback ports (default 1,000),
# all probed once a second for 30 s by benchmarks/probe_scale_main (one health_prober, no
# actors). Reports the driver's CPU share of one core (utime+stime from /proc over the wall
# time; the whole process and the prober thread alone), its peak RSS, probe latencies and the
# pass/fail counts. Target: under 5 % of one core for 1,000 probes a second.
#
# Then, against the same listeners and one after the other, the same checks by the real
# dockmaster binary (its health_watcher actors, the prober and everything else it runs, with
# the instances as one service) and by HAProxy (`option httpchk`, `check inter`), each
# measured over the same time once every instance is up: their CPU shares side by side.
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
  --compare LIST    after the driver, the same checks by: dockmaster,haproxy (default both;
                    none: neither). dockmaster is $DOCKMASTER_BIN, else build-release/dockmaster
  --out FILE        JSON result (default benchmarks/results/probe-scale-<timestamp>.json),
                    the report goes next to it as .txt

environment: PROBE_SCALE_BIN (the driver), PROBE_SCALE_PREFIX (words put before the driver's
command line, e.g. "strace -c -f -o /tmp/syscalls.txt" or "perf record -g -o /tmp/perf.data";
its figures then include the tool's overhead)

Exit status: 0 when every probe passed, 1 otherwise (the figures are still written).
EOF
}

ports=1000 seconds=30 interval_ms=1000 timeout_ms=1000 kind=http out="" driver_arg="" spread=()
compare=dockmaster,haproxy
while (($#)); do
  case $1 in
    --ports) ports=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --interval-ms) interval_ms=${2:?}; shift 2 ;;
    --timeout-ms) timeout_ms=${2:?}; shift 2 ;;
    --kind) kind=${2:?}; shift 2 ;;
    --spread) spread=(--spread); shift ;;
    --driver) driver_arg=${2:?}; shift 2 ;;
    --compare) compare=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for value in "$ports" "$seconds" "$interval_ms" "$timeout_ms"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "numbers must be positive integers (got '$value')" >&2; exit 2; }
done
[[ $kind == http || $kind == tcp ]] || { echo "--kind is http or tcp" >&2; exit 2; }
[[ $compare =~ ^(none|dockmaster|haproxy|dockmaster,haproxy|haproxy,dockmaster)$ ]] ||
  { echo "--compare is dockmaster, haproxy, both (comma-separated) or none" >&2; exit 2; }
((ports <= 20000)) || { echo "--ports: at most 20000" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# The driver: like DOCKMASTER_BIN, a relative path is taken from the current directory, else
# from the repo root.
driver=${driver_arg:-${PROBE_SCALE_BIN:-build-release/benchmarks/probe_scale_main}}
if [[ $driver != /* && ! -e $driver ]]; then driver="$REPO_ROOT/$driver"; fi
[[ -f $driver && -x $driver ]] ||
  die "no driver at $driver: build it (target probe_scale_main, e.g. cmake --build build-release --target probe_scale_main) or pass --driver / set PROBE_SCALE_BIN"
driver=$(cd "$(dirname "$driver")" && pwd)/$(basename "$driver")

bench_init nginx curl python3
[[ $compare != *haproxy* ]] || command -v haproxy >/dev/null || die "haproxy not found: scripts/setup.sh"
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

# ------------------------------------------------ the same checks by the real processes
# wait_all_up NAME PID LOG COMMAND...: waits until COMMAND prints "UP TOTAL" with UP == TOTAL
# (60 s at most; a new service's instances are probed at once, then every interval).
wait_all_up() {
  local name=$1 pid=$2 logfile=$3 deadline answer=""
  shift 3
  deadline=$(($(now_ms) + 60000))
  while (($(now_ms) < deadline)); do
    kill -0 "$pid" 2>/dev/null || { show_log_tail "$logfile"; die "$name exited"; }
    answer=$("$@" 2>/dev/null) || answer=""
    read -r up total <<<"${answer:-0 0}"
    ((total == ports && up == ports)) && return 0
    sleep 0.5
  done
  show_log_tail "$logfile"
  die "$name: not every instance up within 60 s (up, total: ${answer:-none})"
}

# cpu_share PGID: the process group's CPU over `seconds` of wall time, as % of one core.
cpu_share() {
  local before start_ms
  before=$(group_ticks "$1")
  start_ms=$(now_ms)
  sleep "$seconds"
  python3 -c 'import sys; t, hz, ms = map(int, sys.argv[1:]); print(f"{100.0 * t / hz / (ms / 1000.0):.2f}")' \
    "$(($(group_ticks "$1") - before))" "$clk_tck" "$(($(now_ms) - start_ms))"
}

# measure_checks NAME PID LOG UP_COMMAND: once every instance is up, sets MEASURED_CPU to
# NAME's CPU share over `seconds`, checks that every instance is still up, stops NAME.
measure_checks() {
  local name=$1 pid=$2 logfile=$3 up_command=$4 up total
  wait_all_up "$name" "$pid" "$logfile" "$up_command"
  MEASURED_CPU=$(cpu_share "$pid")
  read -r up total <<<"$("$up_command" 2>/dev/null || echo "0 0")"
  ((up == ports)) || die "$name: only $up of $ports instances up at the end"
  log "$name: ${MEASURED_CPU} % of one core"
  stop_group "$pid"
}

dockmaster_cpu="" haproxy_cpu=""
if [[ $compare == *dockmaster* ]]; then
  resolve_dockmaster
  if [[ -z $DOCKMASTER ]]; then
    log "dockmaster skipped: $DOCKMASTER_SKIP_REASON"
  else
    read -r dm_port dm_admin <<<"$(free_ports 2 | tr '\n' ' ')"
    mkdir -p "$bench_tmp/dockmaster"
    python3 - "$bench_tmp/dockmaster/config.json" "$dm_port" "$dm_admin" "$first_port" "$last_port" \
      "$kind" "$interval_ms" "$timeout_ms" <<'EOF'
import json, sys
out, port, admin, first, last, kind, interval, timeout = sys.argv[1:]
health = {"tcp": True} if kind == "tcp" else {"http": "/health"}
health.update({"interval": f"{interval}ms", "timeout": f"{timeout}ms"})
config = {
    "listen": f"127.0.0.1:{port}", "admin": {"listen": f"127.0.0.1:{admin}"},
    "routes": [{"prefix": "/", "service": "fleet"}],
    "services": {"fleet": {"instances": [f"127.0.0.1:{p}" for p in range(int(first), int(last) + 1)],
                           "health": health}},
    "log": {"level": "warn", "access_log": False},
    "actor_system": {"io_threads": 1, "scheduler": {"max_threads": 1}},
}
json.dump(config, open(out, "w"))
EOF
    start_group "$bench_tmp/dockmaster/dockmaster.log" "$DOCKMASTER" --config "$bench_tmp/dockmaster/config.json"
    dm_pid=$STARTED_PID
    dockmaster_up() {
      curl --noproxy '*' -s --max-time 5 "http://127.0.0.1:$dm_admin/status" | python3 -c '
import json, sys
instances = json.load(sys.stdin)["services"]["fleet"]["instances"]
print(sum(1 for i in instances if i["health"] == "healthy"), len(instances))'
    }
    log "dockmaster: $ports instances as one service, probed every ${interval_ms} ms"
    measure_checks dockmaster "$dm_pid" "$bench_tmp/dockmaster/dockmaster.log" dockmaster_up
    dockmaster_cpu=$MEASURED_CPU
  fi
fi

if [[ $compare == *haproxy* ]]; then
  mkdir -p "$bench_tmp/haproxy"
  ha_port=$(free_ports 1)
  {
    echo "global"
    echo "    nbthread 1"
    echo "    maxconn 4096"
    echo "    stats socket $bench_tmp/haproxy/stats.sock"
    echo "defaults"
    echo "    mode $([[ $kind == tcp ]] && echo tcp || echo http)"
    echo "    timeout connect ${timeout_ms}ms"
    echo "    timeout check ${timeout_ms}ms"
    echo "    timeout client 10s"
    echo "    timeout server 10s"
    echo "frontend front"
    echo "    bind 127.0.0.1:$ha_port"
    echo "    default_backend fleet"
    echo "backend fleet"
    if [[ $kind == http ]]; then
      echo "    option httpchk GET /health"
      echo "    http-check expect status 200"
    fi
    echo "    default-server check inter ${interval_ms}ms"
    for ((port = first_port; port <= last_port; port++)); do echo "    server s$port 127.0.0.1:$port"; done
  } >"$bench_tmp/haproxy/haproxy.cfg"
  haproxy -c -q -f "$bench_tmp/haproxy/haproxy.cfg" >"$bench_tmp/haproxy/check.log" 2>&1 ||
    { cat "$bench_tmp/haproxy/check.log" >&2; die "haproxy rejected its generated config"; }
  start_group "$bench_tmp/haproxy/haproxy.log" haproxy -db -f "$bench_tmp/haproxy/haproxy.cfg"
  ha_pid=$STARTED_PID
  haproxy_up() {
    python3 - "$bench_tmp/haproxy/stats.sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
rows = [line.split(",") for line in data.decode().splitlines() if line and not line.startswith("#")]
servers = [r for r in rows if r[0] == "fleet" and r[1] not in ("FRONTEND", "BACKEND")]
print(sum(1 for r in servers if r[17].startswith("UP")), len(servers))
EOF
  }
  log "haproxy: $ports servers with checks every ${interval_ms} ms"
  measure_checks haproxy "$ha_pid" "$bench_tmp/haproxy/haproxy.log" haproxy_up
  haproxy_cpu=$MEASURED_CPU
fi

stamp=$(date +%Y%m%d-%H%M%S)
[[ -n $out ]] || out="$BENCH_DIR/results/probe-scale-$stamp.json"
mkdir -p "$(dirname "$out")"
txt="${out%.json}.txt"

python3 - "$result" "$out" "$txt" "$REPO_ROOT" "$driver" "$nginx_ticks" "$clk_tck" "$nginx_wall_ms" \
  "$first_port" "$last_port" "$kind" "$bench_tmp/driver.out" "$dockmaster_cpu" "$haproxy_cpu" "$seconds" <<'EOF'
import json, os, subprocess, sys, time
result = json.loads(sys.argv[1])
out, txt, repo, driver = sys.argv[2:6]
nginx_ticks, clk_tck, nginx_wall_ms = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
first, last, kind, driver_out = int(sys.argv[9]), int(sys.argv[10]), sys.argv[11], sys.argv[12]
dockmaster_cpu = float(sys.argv[13]) if sys.argv[13] else None
haproxy_cpu = float(sys.argv[14]) if sys.argv[14] else None
seconds = int(sys.argv[15])

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
    "same_checks": {"dockmaster_cpu_percent": dockmaster_cpu, "haproxy_cpu_percent": haproxy_cpu,
                    "dockmaster_over_haproxy": dockmaster_cpu / haproxy_cpu
                    if dockmaster_cpu is not None and haproxy_cpu else None},
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
if dockmaster_cpu is not None or haproxy_cpu is not None:
    lines += ["", f"the same checks by the real processes, each over {seconds} s once every instance was up:"]
    if dockmaster_cpu is not None:
        lines.append(f"  dockmaster     {dockmaster_cpu:.2f} % of one core (watcher actors, prober and the rest)")
    if haproxy_cpu is not None:
        lines.append(f"  haproxy        {haproxy_cpu:.2f} % of one core")
    ratio = document["same_checks"]["dockmaster_over_haproxy"]
    if ratio is not None:
        lines.append(f"  dockmaster / haproxy: {ratio:.2f}x")
text = "\n".join(lines) + "\n"
with open(txt, "w") as f:
    f.write(text)
print(text, end="")
print(f"\nresults: {os.path.relpath(out, repo)} and .txt")
EOF

failed=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["failed"] + r["unfinished"])' "$result")
((failed == 0)) || { log "$failed probes did not pass"; exit 1; }
