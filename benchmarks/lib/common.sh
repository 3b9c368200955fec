# shellcheck shell=bash
# Sourced by the benchmark scripts: a temp dir, the servers (upstream nginx, dockmaster,
# nginx proxy, haproxy), readiness checks, and the cleanup that stops all of them.
#
# Every server is started with setsid, so it leads its own process group; cleanup signals
# exactly those groups (nginx's worker goes with its master), by id.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCHLIB=(python3 "$BENCH_DIR/lib/benchlib.py")

bench_tmp=""
bench_pgids=() # process groups we started (each server leads its own)
bench_pids=()  # other background children (wrk, the connection holder)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
now_ms() { date +%s%3N; }

# Creates the temp dir, installs the traps and raises the open-files limit, which the
# children inherit (dockmaster and nginx need it for measure_rss.sh's 10,000 connections).
bench_init() {
  for tool in python3 curl setsid "$@"; do
    command -v "$tool" >/dev/null || die "$tool is not installed (scripts/setup.sh installs what the benchmarks need)"
  done
  bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/dockmaster-bench.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

bench_cleanup() {
  local rc=$? pg pid i alive
  set +e
  trap - EXIT INT TERM HUP
  for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pg in "${bench_pgids[@]}"; do kill -TERM -- "-$pg" 2>/dev/null; done
  for ((i = 0; i < 30; i++)); do
    alive=0
    for pg in "${bench_pgids[@]}"; do kill -0 -- "-$pg" 2>/dev/null && alive=1; done
    for pid in "${bench_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${bench_pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pg in "${bench_pgids[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
  wait 2>/dev/null
  [[ -n $bench_tmp && -d $bench_tmp ]] && rm -rf "$bench_tmp"
  exit "$rc"
}

# Stops one process group started by start_group and forgets it.
stop_group() {
  local pg=$1 i keep=()
  kill -TERM -- "-$pg" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    kill -0 -- "-$pg" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pg" 2>/dev/null || true
  wait "$pg" 2>/dev/null || true
  for i in "${bench_pgids[@]}"; do [[ $i == "$pg" ]] || keep+=("$i"); done
  bench_pgids=("${keep[@]}")
}

# start_group LOGFILE CMD...: runs CMD in the background as the leader of a new process
# group, output to LOGFILE; sets STARTED_PID.
start_group() {
  local logfile=$1
  shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  STARTED_PID=$!
  bench_pgids+=("$STARTED_PID")
}

# free_ports N: prints N distinct free loopback ports.
free_ports() { "${BENCHLIB[@]}" free-ports "$1"; }

show_log_tail() {
  local logfile=$1
  [[ -s $logfile ]] || return 0
  echo "--- last lines of ${logfile##*/} ---" >&2
  tail -n 20 "$logfile" >&2
  echo "---" >&2
}

# wait_ready NAME PORT PID LOGFILE: waits up to 5 s until GET / on 127.0.0.1:PORT answers
# 200 with the upstream's body "ok"; dies with the server's log if it exits or does not.
wait_ready() {
  local name=$1 port=$2 pid=$3 logfile=$4 deadline body="" status=0
  deadline=$(($(now_ms) + 5000))
  while (($(now_ms) < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" || status=$?
      show_log_tail "$logfile"
      die "$name (pid $pid) exited with status $status before answering on 127.0.0.1:$port${READY_HINT:+ $READY_HINT}"
    fi
    body=$(curl --noproxy '*' -s --max-time 1 -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null) || true
    if [[ $body == $'ok\n200' ]]; then
      return 0
    fi
    sleep 0.1
  done
  show_log_tail "$logfile"
  die "$name (pid $pid) is not answering 200 \"ok\" on 127.0.0.1:$port within 5 s (last answer: ${body:-none})${READY_HINT:+ $READY_HINT}"
}

# nginx writes its temp dirs under configure-time absolute paths unless told otherwise; point
# every one that this build has at the prefix dir, so nginx needs no system directory.
nginx_temp_paths() {
  local dir=$1 module features
  features=$(nginx -V 2>&1)
  echo "    client_body_temp_path $dir/client_body;"
  for module in proxy fastcgi uwsgi scgi; do
    [[ $features == *"--without-http_${module}_module"* ]] || echo "    ${module}_temp_path $dir/$module;"
  done
}

# The directives shared by both nginx instances. As root, nginx would switch its worker to
# "nobody"; keep it as the current user. `user` is only valid when the master runs as root.
nginx_main_directives() {
  local dir=$1 worker_connections=$2
  echo "daemon off;"
  echo "master_process on;"
  echo "worker_processes 1;"
  echo "pid $dir/nginx.pid;"
  echo "error_log $dir/error.log warn;"
  if (($(id -u) == 0)); then echo "user $(id -un) $(id -gn);"; fi
  echo "worker_rlimit_nofile $(ulimit -n);"
  echo "events { worker_connections $worker_connections; }"
}

# start_nginx NAME DIR: tests DIR/nginx.conf, then runs nginx with prefix DIR; sets STARTED_PID.
start_nginx() {
  local name=$1 dir=$2
  if ! nginx -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/conftest.log"; then
    cat "$dir/conftest.log" "$dir/error.log" >&2 2>/dev/null
    die "$name: nginx rejected its generated config"
  fi
  start_group "$dir/stderr.log" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log"
}

# start_upstream PORT [WORKER_CONNECTIONS]: the origin every target forwards to (or that wrk
# loads directly): one nginx worker answering 200 "ok\n" on every path. Sets UPSTREAM_PID.
start_upstream() {
  local port=$1 worker_connections=${2:-4096} dir="$bench_tmp/upstream"
  mkdir -p "$dir"
  {
    nginx_main_directives "$dir" "$worker_connections"
    echo "http {"
    echo "    access_log off;"
    nginx_temp_paths "$dir"
    # Never close a client (the proxies' pooled connections, or wrk's) after N requests.
    echo "    keepalive_requests 1000000;"
    echo "    keepalive_timeout 75s;"
    echo "    server {"
    echo "        listen 127.0.0.1:$port;"
    echo "        default_type text/plain;"
    printf '%s\n' '        location / { return 200 "ok\n"; }'
    echo "    }"
    echo "}"
  } >"$dir/nginx.conf"
  start_nginx upstream "$dir"
  UPSTREAM_PID=$STARTED_PID
  wait_ready "upstream nginx" "$port" "$UPSTREAM_PID" "$dir/error.log"
}

# start_nginx_proxy PORT UPSTREAM_PORT [WORKER_CONNECTIONS]: nginx as the same reverse proxy as
# dockmaster, one worker, pooled keep-alive upstream connections. Sets NGINX_PID.
start_nginx_proxy() {
  local port=$1 upstream_port=$2 worker_connections=${3:-4096} dir="$bench_tmp/nginx-proxy"
  mkdir -p "$dir"
  {
    nginx_main_directives "$dir" "$worker_connections"
    echo "http {"
    echo "    access_log off;"
    nginx_temp_paths "$dir"
    echo "    keepalive_requests 1000000;"
    echo "    keepalive_timeout 75s;"
    echo "    upstream upstream {"
    echo "        server 127.0.0.1:$upstream_port;"
    echo "        keepalive 64;"
    echo "        keepalive_requests 1000000;"
    echo "        keepalive_timeout 60s;"
    echo "    }"
    echo "    server {"
    echo "        listen 127.0.0.1:$port;"
    echo "        location / {"
    echo "            proxy_pass http://upstream;"
    echo "            proxy_http_version 1.1;"
    echo "            proxy_set_header Connection \"\";"
    echo "        }"
    echo "    }"
    echo "}"
  } >"$dir/nginx.conf"
  start_nginx "nginx proxy" "$dir"
  NGINX_PID=$STARTED_PID
  wait_ready "nginx proxy" "$port" "$NGINX_PID" "$dir/error.log"
}

# start_haproxy PORT UPSTREAM_PORT [MAXCONN]: haproxy as the same reverse proxy, one thread,
# server connections reused across clients. Sets HAPROXY_PID.
start_haproxy() {
  local port=$1 upstream_port=$2 maxconn=${3:-4096} dir="$bench_tmp/haproxy"
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $maxconn

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 60s

frontend proxy
    bind 127.0.0.1:$port
    default_backend upstream

backend upstream
    server upstream1 127.0.0.1:$upstream_port
EOF
  if ! haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1; then
    cat "$dir/check.log" >&2
    die "haproxy rejected its generated config"
  fi
  start_group "$dir/haproxy.log" haproxy -db -f "$dir/haproxy.cfg"
  HAPROXY_PID=$STARTED_PID
  wait_ready haproxy "$port" "$HAPROXY_PID" "$dir/haproxy.log"
}

# shellcheck disable=SC2034 # DOCKMASTER_SKIP_REASON is for the scripts that source this file
# resolve_dockmaster: sets DOCKMASTER (an executable path) or, when there is none,
# DOCKMASTER_SKIP_REASON. A relative DOCKMASTER_BIN is taken from the current directory,
# else from the repo root; the default is build-release/dockmaster in the repo root.
resolve_dockmaster() {
  local bin=${DOCKMASTER_BIN:-build-release/dockmaster}
  DOCKMASTER=""
  DOCKMASTER_SKIP_REASON=""
  if [[ $bin != /* && ! -e $bin ]]; then bin="$REPO_ROOT/$bin"; fi
  if [[ -f $bin && -x $bin ]]; then
    DOCKMASTER=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  else
    DOCKMASTER_SKIP_REASON="no executable at DOCKMASTER_BIN=${DOCKMASTER_BIN:-build-release/dockmaster} (build it, e.g. cmake -S . -B build-release -G Ninja && cmake --build build-release, or set DOCKMASTER_BIN)"
  fi
}

# start_dockmaster NAME PORT UPSTREAM_PORT [FRAGMENT]: generates the config (FRAGMENT merged
# in), starts dockmaster and waits for it. Sets DOCKMASTER_PID.
# DOCKMASTER_ARGS is the command line after the binary; {config} stands for the config file.
start_dockmaster() {
  local name=$1 port=$2 upstream_port=$3 fragment=${4:-} dir args
  dir="$bench_tmp/$name"
  mkdir -p "$dir"
  "${BENCHLIB[@]}" dockmaster-config --port "$port" --upstream-port "$upstream_port" \
    ${fragment:+--fragment "$fragment"} --out "$dir/config.json" || die "$name: cannot generate its config"
  if [[ -z ${DOCKMASTER_ARGS:-} ]] &&
    ! timeout 5 "$DOCKMASTER" --check-config "$dir/config.json" >"$dir/check.log" 2>&1; then
    cat "$dir/check.log" >&2
    die "$name: dockmaster --check-config rejects the generated config: $(tr -d ' \n' <"$dir/config.json")"
  fi
  read -r -a args <<<"${DOCKMASTER_ARGS:---config {config}}"
  args=("${args[@]//\{config\}/$dir/config.json}")
  start_group "$dir/dockmaster.log" "$DOCKMASTER" "${args[@]}"
  DOCKMASTER_PID=$STARTED_PID
  READY_HINT="(ran: ${DOCKMASTER#"$REPO_ROOT"/} ${args[*]//"$bench_tmp"/<tmp>}; config: $(tr -d ' \n' <"$dir/config.json"); leave dockmaster out with --targets)" \
    wait_ready "$name" "$port" "$DOCKMASTER_PID" "$dir/dockmaster.log"
}

# A target's process group is alive; otherwise die with what it said.
check_alive() {
  local name=$1 pid=$2 logfile=$3
  if ! kill -0 "$pid" 2>/dev/null; then
    show_log_tail "$logfile"
    die "$name (pid $pid) died during the run"
  fi
}
