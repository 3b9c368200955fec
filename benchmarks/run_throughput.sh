#!/usr/bin/env bash
# Routing throughput of dockmaster against nginx and haproxy doing the same job, with the
# upstream loaded directly as the ceiling. See benchmarks/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/run_throughput.sh [options]

  --rounds N          rounds; each round loads every target once, order rotated (default 3)
  --duration S        seconds of load per target and round (default 10)
  --connections C     wrk connections (default 50)
  --warmup S          seconds of unrecorded load per target before round 1 (default 1; 0: none)
  --targets LIST      comma-separated subset of direct,dockmaster,nginx,haproxy (default: all)
  --configs GLOB      run dockmaster once per matching actor_system fragment, e.g.
                      'configs/*.json' (relative globs are also tried from benchmarks/);
                      without it dockmaster runs with 1 I/O thread and 1 scheduler thread
  --out FILE          JSON result (default benchmarks/results/<suite>-<timestamp>.json);
                      the table goes next to it as .txt
  --suite NAME        name in the report and the default file name (default throughput)

environment:
  DOCKMASTER_BIN      the binary (default build-release/dockmaster); when it does not exist,
                      dockmaster is skipped with a message and the others still run
  DOCKMASTER_ARGS     its arguments, {config} standing for the generated config file
                      (default: --config {config})
EOF
}

rounds=3 duration=10 connections=50 warmup=1 configs="" out="" suite=throughput
targets_arg=direct,dockmaster,nginx,haproxy
while (($#)); do
  case $1 in
    --rounds) rounds=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --connections) connections=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --targets) targets_arg=${2:?}; shift 2 ;;
    --configs) configs=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --suite) suite=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in rounds duration connections; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || { echo "--$n must be a positive integer" >&2; exit 2; }
done
[[ $warmup =~ ^[0-9]+$ ]] || { echo "--warmup must be a whole number of seconds" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init wrk nginx haproxy timeout

# ----------------------------------------------------------------------------- targets
declare -A port pid logfile fragment skipped
targets=()
requested=()
IFS=, read -r -a requested <<<"$targets_arg"
for t in "${requested[@]}"; do
  case $t in
    direct | nginx | haproxy) targets+=("$t") ;;
    dockmaster)
      resolve_dockmaster
      if [[ -z $DOCKMASTER ]]; then
        skipped[dockmaster]=$DOCKMASTER_SKIP_REASON
        log "dockmaster SKIPPED: $DOCKMASTER_SKIP_REASON"
      elif [[ -n $configs ]]; then
        config_files=$("${BENCHLIB[@]}" expand-configs "$configs" --bench-dir "$BENCH_DIR") || exit 1
        while IFS= read -r f; do
          name="dockmaster:$(basename "$f" .json)"
          targets+=("$name")
          fragment[$name]=$f
        done <<<"$config_files"
      else
        targets+=(dockmaster)
        fragment[dockmaster]=""
      fi
      ;;
    *) die "unknown target '$t' (known: direct, dockmaster, nginx, haproxy)" ;;
  esac
done
((${#targets[@]})) || die "nothing to measure"

timestamp=$(date +%Y%m%d-%H%M%S)
[[ -n $out ]] || out="$BENCH_DIR/results/$suite-$timestamp.json"
mkdir -p "$(dirname "$out")"
txt="${out%.json}.txt"

seconds=$((${#targets[@]} * (rounds * (duration + 1) + warmup + 1) + 5))
log "$suite: targets ${targets[*]}; $rounds round(s) of ${duration}s, $connections connections; about $((seconds / 60))m$((seconds % 60))s"

# ----------------------------------------------------------------------------- servers
read -r -a ports <<<"$(free_ports $((${#targets[@]} + 1)))"
upstream_port=${ports[0]}
start_upstream "$upstream_port"
log "upstream nginx on 127.0.0.1:$upstream_port (pid $UPSTREAM_PID)"
i=1
for t in "${targets[@]}"; do
  case $t in
    direct)
      port[$t]=$upstream_port pid[$t]=$UPSTREAM_PID logfile[$t]=$bench_tmp/upstream/error.log
      continue
      ;;
    nginx)
      start_nginx_proxy "${ports[i]}" "$upstream_port"
      pid[$t]=$NGINX_PID logfile[$t]=$bench_tmp/nginx-proxy/error.log
      ;;
    haproxy)
      start_haproxy "${ports[i]}" "$upstream_port"
      pid[$t]=$HAPROXY_PID logfile[$t]=$bench_tmp/haproxy/haproxy.log
      ;;
    dockmaster*)
      start_dockmaster "${t//:/-}" "${ports[i]}" "$upstream_port" "${fragment[$t]}"
      pid[$t]=$DOCKMASTER_PID logfile[$t]=$bench_tmp/${t//:/-}/dockmaster.log
      ;;
  esac
  port[$t]=${ports[i]}
  log "$t on 127.0.0.1:${port[$t]} (pid ${pid[$t]})"
  i=$((i + 1))
done

meta_args=(--suite "$suite" --repo-root "$REPO_ROOT" --out "$bench_tmp/meta.json"
  --set rounds="$rounds" --set duration_s="$duration" --set connections="$connections"
  --set warmup_s="$warmup" --set wrk_threads=1
  --targets "$targets_arg" --measured "$(IFS=,; echo "${targets[*]}")")
for t in "${!skipped[@]}"; do meta_args+=(--skipped "$t=${skipped[$t]}"); done
for t in "${targets[@]}"; do
  if [[ $t == dockmaster* ]]; then
    meta_args+=(--fragment "$t=${fragment[$t]}" --dockmaster-bin "$DOCKMASTER")
  fi
done
"${BENCHLIB[@]}" meta "${meta_args[@]}"

# ----------------------------------------------------------------------------- load
# run_wrk TARGET SECONDS OUTFILE
run_wrk() {
  local t=$1 secs=$2 outfile=$3 wrk_pid status=0
  timeout -k 5 $((secs + 30)) wrk -t1 -c"$connections" -d"${secs}s" --latency \
    "http://127.0.0.1:${port[$t]}/" >"$outfile" 2>&1 &
  wrk_pid=$!
  bench_pids+=("$wrk_pid")
  wait "$wrk_pid" || status=$?
  check_alive "$t" "${pid[$t]}" "${logfile[$t]}"
  if ((status != 0)); then
    cat "$outfile" >&2
    die "wrk against $t exited with status $status"
  fi
}

if ((warmup > 0)); then
  log "warm-up: ${warmup}s per target"
  for t in "${targets[@]}"; do run_wrk "$t" "$warmup" "$bench_tmp/warmup.txt"; done
fi

# A server that burns CPU while nobody loads it slows down every other target's run.
idle_args=()
for t in "${targets[@]}"; do [[ $t == direct ]] || idle_args+=("$t=${pid[$t]}"); done
idle_args+=("upstream=$UPSTREAM_PID")
while read -r name pct; do
  if awk -v p="$pct" 'BEGIN { exit !(p > 5) }'; then
    log "WARNING: $name uses ${pct}% CPU while idle; it will disturb the other targets' runs"
  fi
done < <("${BENCHLIB[@]}" idle-cpu --interval 1 "${idle_args[@]}")

runs="$bench_tmp/runs.jsonl"
: >"$runs"
n=${#targets[@]}
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < n; k++)); do
    t=${targets[(r + k) % n]}
    run_wrk "$t" "$duration" "$bench_tmp/wrk.txt"
    "${BENCHLIB[@]}" parse-wrk "$bench_tmp/wrk.txt" --target "$t" --round $((r + 1)) --position $((k + 1)) >>"$runs" ||
      { cat "$bench_tmp/wrk.txt" >&2; die "cannot read wrk's output for $t"; }
    log "round $((r + 1))/$rounds  $("${BENCHLIB[@]}" describe-run "$(tail -n 1 "$runs")")"
    sleep 1
  done
done

echo
"${BENCHLIB[@]}" report --meta "$bench_tmp/meta.json" --runs "$runs" --out "$out" --txt "$txt"
echo
log "wrote $out and $txt"
