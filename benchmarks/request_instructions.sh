#!/usr/bin/env bash
# User-space instructions per proxied request, dockmaster against nginx, counted by
# valgrind's callgrind: repeatable whatever else the machine does (the wrk figures
# swing by 5-20 % between rounds here). Kernel work (the larger part, see
# benchmarks/README.md) is not counted, for either.
#
# Each proxy runs under callgrind twice, in front of the same nginx upstream (not
# under valgrind), and serves N1 then N2 keep-alive GETs from one client connection;
# (Ir(N2) - Ir(N1)) / (N2 - N1) cancels start-up and shutdown.
#
# usage: benchmarks/request_instructions.sh [--requests N1,N2] [--dockmaster PATH]
#                                           [--profile DIR]
# --profile DIR keeps the N2 runs' callgrind files in DIR and prints, for each proxy,
# the functions with the most instructions of their own (callgrind_annotate's view).
set -euo pipefail

requests=2000,6000
dockmaster_arg=""
profile_dir=""
while (($#)); do
  case $1 in
    --requests) requests=${2:?}; shift 2 ;;
    --dockmaster) dockmaster_arg=${2:?}; shift 2 ;;
    --profile) profile_dir=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
n1=${requests%,*}
n2=${requests#*,}
[[ $n1 =~ ^[0-9]+$ && $n2 =~ ^[0-9]+$ ]] && ((n2 > n1)) || { echo "--requests N1,N2 with N2 > N1" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init nginx valgrind callgrind_annotate
dockmaster=${dockmaster_arg:-${DOCKMASTER_BIN:-build-release/dockmaster}}
[[ $dockmaster == /* ]] || dockmaster=$REPO_ROOT/$dockmaster
[[ -x $dockmaster ]] || die "$dockmaster not found: scripts/build.sh release"

read -r upstream_port dm_port ng_port <<<"$(free_ports 3 | tr '\n' ' ')"
start_upstream "$upstream_port"

# Sends `count` GETs on one keep-alive connection to `port` and checks every answer.
send_requests() {
  python3 - "$1" "$2" <<'EOF'
import http.client, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for i in range(count):
    connection.request("GET", "/bench", headers={"User-Agent": "request-instructions"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"request {i}: status {response.status}")
EOF
}
[[ -z $profile_dir ]] || mkdir -p "$profile_dir"

# Waits until `port` answers 200 (valgrind starts slowly).
wait_answering() {
  local port=$1 pid=$2 i
  for i in $(seq 600); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/bench" 2>/dev/null) == 200 ]] && return 0
    kill -0 "$pid" 2>/dev/null || die "the proxy under valgrind exited"
    sleep 0.1
  done
  die "the proxy on $port did not answer within 60 s"
}

# Runs `name`'s command line (after --) under callgrind, sends `count` requests (plus
# the readiness check's), stops it with SIGTERM or SIGQUIT, prints total Ir.
instructions_for() {
  local name=$1 port=$2 count=$3 stop_signal=$4
  shift 5
  local out=$bench_tmp/callgrind-$name-$count.out
  setsid valgrind --tool=callgrind --separate-threads=${SEPARATE_THREADS:-no} --callgrind-out-file="$out" "$@" >"$bench_tmp/$name-$count.log" 2>&1 &
  local pid=$!
  wait_answering "$port" "$pid"
  send_requests "$port" "$count"
  kill "-$stop_signal" "$pid"
  wait "$pid" 2>/dev/null || true
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
  if [[ -n $profile_dir && $count == "$n2" ]]; then cp "$out" "$profile_dir/"; fi
}

# dockmaster: one I/O thread, no access log, the upstream pooled.
cat >"$bench_tmp/dockmaster.json" <<EOF
{"listen": "127.0.0.1:$dm_port", "routes": [{"prefix": "/", "service": "upstream"}],
 "services": {"upstream": {"instances": ["127.0.0.1:$upstream_port"]}},
 "actor_system": {"io_threads": 1}, "log": {"level": "warn", "access_log": false}}
EOF
# nginx: one process (no master), no access log, pooled keep-alive upstream connections.
mkdir -p "$bench_tmp/nginx"
cat >"$bench_tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $bench_tmp/nginx/nginx.pid;
error_log $bench_tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  upstream upstream { server 127.0.0.1:$upstream_port; keepalive 64; }
  server {
    listen 127.0.0.1:$ng_port;
    location / { proxy_pass http://upstream; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF

log "counting dockmaster ($n1 and $n2 requests under callgrind)"
dm1=$(instructions_for dockmaster "$dm_port" "$n1" TERM -- "$dockmaster" --config "$bench_tmp/dockmaster.json")
dm2=$(instructions_for dockmaster "$dm_port" "$n2" TERM -- "$dockmaster" --config "$bench_tmp/dockmaster.json")
log "counting nginx ($n1 and $n2 requests under callgrind)"
ng1=$(instructions_for nginx "$ng_port" "$n1" QUIT -- nginx -c "$bench_tmp/nginx/nginx.conf" -p "$bench_tmp/nginx")
ng2=$(instructions_for nginx "$ng_port" "$n2" QUIT -- nginx -c "$bench_tmp/nginx/nginx.conf" -p "$bench_tmp/nginx")

python3 - "$n1" "$n2" "$dm1" "$dm2" "$ng1" "$ng2" <<'EOF'
import sys
n1, n2, dm1, dm2, ng1, ng2 = map(int, sys.argv[1:])
dm = (dm2 - dm1) / (n2 - n1)
ng = (ng2 - ng1) / (n2 - n1)
print(f"user-space instructions per proxied request (callgrind, {n2 - n1} requests):")
print(f"  dockmaster {dm:9,.0f}")
print(f"  nginx      {ng:9,.0f}")
print(f"  dockmaster / nginx: {dm / ng:.2f}x")
EOF
if [[ -n $profile_dir ]]; then
  for name in dockmaster nginx; do
    echo
    echo "$name: functions by their own instructions over $n2 requests (start-up included)"
    callgrind_annotate --inclusive=no "$profile_dir/callgrind-$name-$n2.out" 2>/dev/null |
      awk '/^-+$/ { dashes++; next } dashes >= 3 && NF { print substr($0, 1, 160); if (++shown == 30) exit }'
  done
fi
