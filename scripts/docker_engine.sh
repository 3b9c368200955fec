#!/usr/bin/env bash
# A private Docker engine for the real-engine tests, beside (never instead of) the
# system's: its own socket, data and state under one folder, no bridge, no iptables,
# no IP forwarding or masquerading. Containers run with --network host, so all their
# traffic stays on this machine's loopback.
#
# usage: scripts/docker_engine.sh start|stop|status|images|clean|env
#   start   installs docker.io, docker-compose, debootstrap and busybox-static when missing (idempotent), starts
#           dockerd unless it already runs, waits for /_ping (at most 60 s) and prints
#           `export DOCKER_HOST=unix://...` on stdout, so that
#             eval "$(scripts/docker_engine.sh start)"
#           points the shell at it. Everything else goes to stderr.
#   stop    removes the test containers, stops dockerd (TERM, KILL after 30 s).
#   status  exit 0 and a line when it answers, exit 3 when it does not.
#   images  builds the test images (dockmaster-test/busybox-service:latest).
#   clean   removes every container labelled dockmaster.test.
#   env     prints the export line without starting anything.
#
# The folder: $DOCKMASTER_DOCKER_DIR, default /tmp/dockmaster-docker (docker.sock,
# dockerd.pid, dockerd.log, data/, exec/, build/). The systemd service and
# /var/run/docker.sock are left alone: nothing here starts, stops or edits them.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

dir=${DOCKMASTER_DOCKER_DIR:-/tmp/dockmaster-docker}
sock=$dir/docker.sock
pidfile=$dir/dockerd.pid
logfile=$dir/dockerd.log
test_label=dockmaster.test
images=(busybox-service)

say() { echo "docker_engine: $*" >&2; }
die() { say "$*"; exit 1; }

if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi

docker_cli() {
  # Debian's client matches Debian's engine (a newer one elsewhere in PATH may default
  # to BuildKit, which this engine has no buildx for).
  local cli=/usr/bin/docker
  [[ -x $cli ]] || cli=$(command -v docker)
  DOCKER_BUILDKIT=0 "$cli" -H "unix://$sock" "$@"
}

ping_engine() {
  [[ -S $sock ]] && [[ $(curl -s --max-time 2 --unix-socket "$sock" http://docker/_ping 2>/dev/null) == OK ]]
}

# The pid of the live dockerd of this folder (its pid file first, else the process
# whose command line names this pid file), or nothing.
engine_pid() {
  local pid=
  [[ -f $pidfile ]] && pid=$(tr -dc '0-9' < "$pidfile")
  if [[ -n $pid ]] && is_our_dockerd "$pid"; then echo "$pid"; return; fi
  local comm
  for comm in /proc/[0-9]*/comm; do
    [[ $(cat "$comm" 2>/dev/null) == dockerd ]] || continue
    pid=${comm#/proc/}
    pid=${pid%/comm}
    if is_our_dockerd "$pid"; then echo "$pid"; return; fi
  done
}

is_our_dockerd() {
  [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "--pidfile $pidfile "
}

install_packages() {
  local packages=(docker.io docker-compose debootstrap busybox-static curl) missing=() p
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
  done
  if ((${#missing[@]} == 0)); then
    say "packages present: ${packages[*]}"
    return
  fi
  say "installing ${missing[*]}"
  # Where systemd runs, installing docker.io would start the system's engine: a
  # policy-rc.d that denies service starts keeps it stopped (only when none exists,
  # and removed afterwards).
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 0755 "$policy"
    added_policy=1
  fi
  local status=0
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || status=$?
  [[ -n $added_policy ]] && $sudo rm -f "$policy"
  ((status == 0)) || die "apt-get failed ($status)"
}

# Once dockerd is gone: the mounts it leaves behind (its network namespace, the data
# folder's bind mount, those of containers when it was killed), all under this
# folder, deepest first.
unmount_leftovers() {
  local m
  awk -v prefix="$dir/" 'index($2, prefix) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do $sudo umount "$m" 2>/dev/null || $sudo umount -l "$m" 2>/dev/null || true; done
}

print_env() { echo "export DOCKER_HOST=unix://$sock"; }

wait_for_ping() {
  local pid=$1 deadline=$((SECONDS + 60))
  until ping_engine; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "dockerd exited; the end of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      say "dockerd (pid $pid) did not answer /_ping within 60 s; the end of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

cmd_start() {
  install_packages
  mkdir -p "$dir/data" "$dir/exec" "$dir/build"
  ((${#sock} < 100)) || die "socket path too long for a unix socket: $sock"

  local pid
  pid=$(engine_pid)
  if [[ -n $pid ]]; then
    wait_for_ping "$pid" || die "dockerd (pid $pid) runs but does not answer; try: $0 stop"
    say "already running (pid $pid)"
    print_env
    return
  fi

  # Leftovers of an engine that died: its pid file (dockerd refuses to start while
  # the pid in it is alive, whatever process that is now), its socket, and a
  # containerd it started that outlived it.
  if [[ -e $pidfile ]]; then say "removing stale $pidfile"; rm -f "$pidfile"; fi
  rm -f "$sock"
  local cpidfile=$dir/exec/containerd/containerd.pid cpid
  if [[ -f $cpidfile ]]; then
    cpid=$(tr -dc '0-9' < "$cpidfile")
    if [[ -n $cpid ]] && tr '\0' ' ' < "/proc/$cpid/cmdline" 2>/dev/null | grep -q -- "containerd.*$dir/exec"; then
      say "stopping the leftover containerd (pid $cpid)"
      kill "$cpid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$cpid" 2>/dev/null || true
    fi
    rm -f "$cpidfile"
  fi
  unmount_leftovers

  local dockerd
  dockerd=$(command -v dockerd || true)
  [[ -n $dockerd ]] || die "dockerd not found after installing docker.io"
  say "starting dockerd on $sock (log: $logfile)"
  echo "--- $(date -u +%FT%TZ) start" >> "$logfile"
  # setsid: its own session, so that it outlives this script and the caller's terminal.
  setsid "$dockerd" \
    --host "unix://$sock" \
    --data-root "$dir/data" \
    --exec-root "$dir/exec" \
    --pidfile "$pidfile" \
    --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false \
    >> "$logfile" 2>&1 < /dev/null &
  pid=$!
  wait_for_ping "$pid" || { kill "$pid" 2>/dev/null || true; exit 1; }
  say "running (pid $pid, API $(curl -s --unix-socket "$sock" http://docker/version | sed -n 's/.*"ApiVersion":"\([^"]*\)".*/\1/p'))"
  print_env
}

cmd_stop() {
  local pid
  pid=$(engine_pid)
  if [[ -z $pid ]]; then
    say "not running"
    rm -f "$pidfile" "$sock"
    unmount_leftovers
    return
  fi
  if ping_engine; then cmd_clean || true; fi
  say "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "dockerd did not stop within 30 s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile" "$sock"
  unmount_leftovers
  say "stopped"
}

cmd_status() {
  local pid
  pid=$(engine_pid)
  if [[ -n $pid ]] && ping_engine; then
    echo "running: pid $pid, DOCKER_HOST=unix://$sock"
    return 0
  fi
  if [[ -n $pid ]]; then echo "not answering: pid $pid, socket $sock"; else echo "stopped ($dir)"; fi
  return 3
}

cmd_images() {
  ping_engine || die "no engine answers at $sock: run $0 start first"
  local busybox=/bin/busybox
  if ! { [[ -x $busybox ]] && "$busybox" --list 2>/dev/null | grep -x httpd >/dev/null; }; then
    die "$busybox (busybox-static) missing: run $0 start"
  fi
  local name ctx
  for name in "${images[@]}"; do
    ctx=$dir/build/$name
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp -r "$repo/tests/images/$name/." "$ctx/"
    cp "$busybox" "$ctx/busybox"
    say "building dockmaster-test/$name:latest"
    docker_cli build --network host -q -t "dockmaster-test/$name:latest" "$ctx" >&2
  done
}

cmd_clean() {
  ping_engine || return 0
  local ids
  ids=$(docker_cli ps -aq --filter "label=$test_label")
  if [[ -n $ids ]]; then
    say "removing test containers: ${ids//$'\n'/ }"
    # shellcheck disable=SC2086
    docker_cli rm -f -v $ids >/dev/null
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  images) cmd_images ;;
  clean) cmd_clean ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|images|clean|env" >&2; exit 2 ;;
esac
