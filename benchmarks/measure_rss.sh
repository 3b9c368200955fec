#!/usr/bin/env bash
# Memory of dockmaster idle and while it holds many idle keep-alive client connections, with
# nginx doing the same job for comparison. See benchmarks/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/measure_rss.sh [options]

  --connections N   keep-alive client connections to hold (default 10000)
  --targets LIST    comma-separated subset of dockmaster,nginx,haproxy (default dockmaster,nginx)
  --settle S        seconds to wait before each RSS reading (default 2)
  --out FILE        JSON result (default benchmarks/results/rss-<timestamp>.json), table as .txt

environment: DOCKMASTER_BIN, DOCKMASTER_ARGS as for run_throughput.sh
EOF
}

connections=10000 settle=2 out="" targets_arg=dockmaster,nginx
while (($#)); do
  case $1 in
    --connections) connections=${2:?}; shift 2 ;;
    --targets) targets_arg=${2:?}; shift 2 ;;
    --settle) settle=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $connections =~ ^[1-9][0-9]*$ ]] || { echo "--connections must be a positive integer" >&2; exit 2; }
[[ $settle =~ ^[0-9]+$ ]] || { echo "--settle must be a whole number of seconds" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init nginx haproxy timeout

# bench_init raised the open-files limit as far as allowed (65536 wanted); every process here,
# the holder as well as each target, needs one descriptor per connection and some to spare.
fd_limit=$(ulimit -n)
slots=$((connections + 1024))
if ((fd_limit < slots)); then
  die "the open-files limit is $fd_limit (hard limit $(ulimit -Hn)) but $connections connections need about $slots; use fewer --connections or raise the hard limit"
fi
((fd_limit >= 65536)) || log "note: open-files limit is $fd_limit, not 65536 (the hard limit); enough for $connections connections"

declare -A skipped
targets=()
IFS=, read -r -a requested <<<"$targets_arg"
for t in "${requested[@]}"; do
  case $t in
    nginx) targets+=("$t") ;;
    haproxy)
      # haproxy reserves 2 descriptors per maxconn (client and server side) and will not start
      # without them.
      if ((fd_limit >= 2 * slots + 100)); then
        targets+=("$t")
      else
        skipped[haproxy]="needs $((2 * slots + 100)) open files for $connections connections, the limit is $fd_limit"
        log "haproxy SKIPPED: ${skipped[haproxy]}"
      fi
      ;;
    dockmaster)
      resolve_dockmaster
      if [[ -n $DOCKMASTER ]]; then
        targets+=(dockmaster)
      else
        skipped[dockmaster]=$DOCKMASTER_SKIP_REASON
        log "dockmaster SKIPPED: $DOCKMASTER_SKIP_REASON"
      fi
      ;;
    *) die "unknown target '$t' (known: dockmaster, nginx, haproxy)" ;;
  esac
done
((${#targets[@]})) || die "nothing to measure"

timestamp=$(date +%Y%m%d-%H%M%S)
[[ -n $out ]] || out="$BENCH_DIR/results/rss-$timestamp.json"
mkdir -p "$(dirname "$out")"
txt="${out%.json}.txt"

read -r upstream_port target_ports <<<"$(free_ports $((${#targets[@]} + 1)))"
read -r -a target_ports <<<"$target_ports"
start_upstream "$upstream_port"
log "upstream nginx on 127.0.0.1:$upstream_port (pid $UPSTREAM_PID)"

meta_args=(--suite rss --repo-root "$REPO_ROOT" --out "$bench_tmp/meta.json"
  --set connections="$connections" --set settle_s="$settle" --set fd_limit="$fd_limit"
  --set nginx_worker_connections="$slots" --set haproxy_maxconn="$slots"
  --targets "$targets_arg" --measured "$(IFS=,; echo "${targets[*]}")")
for t in "${!skipped[@]}"; do meta_args+=(--skipped "$t=${skipped[$t]}"); done
if [[ " ${targets[*]} " == *" dockmaster "* ]]; then
  meta_args+=(--fragment "dockmaster=" --dockmaster-bin "$DOCKMASTER")
fi
"${BENCHLIB[@]}" meta "${meta_args[@]}"

# wait_for_lines FILE N SECONDS PID: until FILE has N lines; dies if PID exits or time is up.
wait_for_lines() {
  local file=$1 n=$2 secs=$3 holder=$4 deadline
  deadline=$(($(now_ms) + secs * 1000))
  while (($(wc -l <"$file") < n)); do
    kill -0 "$holder" 2>/dev/null || { cat "$file" >&2; die "the connection holder exited early"; }
    (($(now_ms) < deadline)) || die "the connection holder did not report within ${secs}s"
    sleep 0.2
  done
}

for i in "${!targets[@]}"; do
  # One target at a time, so that nothing else of ours runs beside it.
  t=${targets[i]} target_port=${target_ports[i]}
  case $t in
    dockmaster) start_dockmaster dockmaster "$target_port" "$upstream_port"; target_pid=$DOCKMASTER_PID ;;
    nginx) start_nginx_proxy "$target_port" "$upstream_port" "$slots"; target_pid=$NGINX_PID ;;
    haproxy) start_haproxy "$target_port" "$upstream_port" "$slots"; target_pid=$HAPROXY_PID ;;
  esac
  dir="$bench_tmp/rss/$t"
  mkdir -p "$dir"
  log "$t on 127.0.0.1:$target_port (pid $target_pid): idle for ${settle}s"
  sleep "$settle"
  "${BENCHLIB[@]}" memory "$target_pid" >"$dir/idle.json"

  log "$t: opening $connections keep-alive connections"
  python3 "$BENCH_DIR/lib/hold_connections.py" --port "$target_port" --count "$connections" \
    --hold 600 >"$dir/holder.json" 2>"$dir/holder.log" &
  holder=$!
  bench_pids+=("$holder")
  wait_for_lines "$dir/holder.json" 1 300 "$holder"
  log "$t: $(head -n 1 "$dir/holder.json" | cut -c1-200); holding for ${settle}s"
  sleep "$settle"
  "${BENCHLIB[@]}" memory "$target_pid" >"$dir/loaded.json"
  kill -USR1 "$holder"
  wait_for_lines "$dir/holder.json" 2 10 "$holder"
  kill -TERM "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  stop_group "$target_pid"
done

echo
"${BENCHLIB[@]}" rss-report --meta "$bench_tmp/meta.json" --dir "$bench_tmp/rss" --out "$out" --txt "$txt"
echo
log "wrote $out and $txt"
