#!/usr/bin/env bash
# The main job on a fresh machine. Where a Docker engine is reachable (DOCKER_HOST or
# /var/run/docker.sock), it builds and starts the compose stack of deploy/compose/
# (manager + frontend + backend + database) and prints its URL. Where none is, it builds
# dockmaster and runs it on loopback in front of a small demo frontend and backend,
# healing the backend when it dies (Ctrl-C stops everything).
#
# DOCKMASTER_DEMO=local forces the loopback demo; DOCKMASTER_DEMO=stack insists on the
# stack; DOCKMASTER_DEMO=private starts the project's own Docker engine (as the tests do,
# scripts/docker_engine.sh) and runs the stack on it. `scripts/demo.sh down` stops the
# stack. Either way it ends with the URL of dockmaster's status page.
set -euo pipefail
cd "$(dirname "$0")/.."

docker_cli=/usr/bin/docker
[[ -x $docker_cli ]] || docker_cli=$(command -v docker || true)

engine_reachable() {
  [[ -n $docker_cli ]] && timeout 10 "$docker_cli" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

compose_name() {
  if "$docker_cli" compose version >/dev/null 2>&1; then echo "docker compose"; else echo docker-compose; fi
}

compose() {
  # Compose's defaults: docker-compose.yml and docker-compose.override.yml (port 80).
  # An engine without a bridge network (dockerd --bridge=none) runs the stack on the
  # host's network instead, with the MariaDB stand-in.
  local files=()
  if ! "$docker_cli" network inspect bridge >/dev/null 2>&1; then
    files=(-f docker-compose.yml -f docker-compose.host-network.yml)
  fi
  if "$docker_cli" compose version >/dev/null 2>&1; then
    (cd deploy/compose && "$docker_cli" compose "${files[@]}" "$@")
  else
    (cd deploy/compose && docker-compose "${files[@]}" "$@")
  fi
}

run_stack() {
  if ! "$docker_cli" compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    local sudo=
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose
  fi
  scripts/base_image.sh
  # Without buildx (Debian's docker.io), the classic builder; the Dockerfiles need nothing more.
  if ! "$docker_cli" buildx version >/dev/null 2>&1; then
    export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} COMPOSE_DOCKER_CLI_BUILD=${COMPOSE_DOCKER_CLI_BUILD:-0}
  fi
  # CAs added to this host (a TLS-intercepting proxy's) are trusted by the frontend's npm step.
  if [[ -z ${EXTRA_CA_CERTS:-} ]] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    EXTRA_CA_CERTS=$(cat /usr/local/share/ca-certificates/*.crt)
    export EXTRA_CA_CERTS
  fi
  if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST == unix://* ]]; then export DOCKER_SOCKET=${DOCKER_HOST#unix://}; fi
  compose up -d --build
  local url=http://localhost/
  "$docker_cli" network inspect bridge >/dev/null 2>&1 || url=http://${MANAGER_LISTEN:-127.0.0.1:8080}/
  local admin=http://${MANAGER_ADMIN_LISTEN:-127.0.0.1:9901}/
  echo "waiting for every service to turn healthy in dockmaster's view..."
  for _ in $(seq 120); do
    if curl -s "${admin}status" | python3 -c '
import json, sys
services = json.load(sys.stdin)["services"]
sys.exit(0 if all(s["state"] == "healthy" for s in services.values()) else 1)' 2>/dev/null; then
      break
    fi
    sleep 2
  done
  cat <<TEXT

dockmaster stack: open $url   (API: ${url}api/items/)
Manager's logs:   cd deploy/compose && $(compose_name) logs -f manager
Watch a heal:     cd deploy/compose && $(compose_name) exec backend pkill -KILL -f 'gunicorn: master'
                  and the manager logs health_changed (to unhealthy), restart_started,
                  restart_done (command, exit code, output) and health_changed (healthy).
Stop it:          scripts/demo.sh down

Status page:      $admin   (metrics: ${admin}metrics, JSON: ${admin}status)
TEXT
}

run_local() {
  scripts/setup.sh
  # Only the binary: the tests and benchmarks are not needed to run it.
  scripts/build.sh release dockmaster

  backend_pid=/tmp/dockmaster-demo-backend.pid
  python3 scripts/demo_upstreams.py frontend 3000 &
  frontend=$!
  python3 scripts/demo_upstreams.py backend 8000 "$backend_pid" &
  trap 'kill $frontend $(cat $backend_pid 2>/dev/null) 2>/dev/null || true' EXIT

  cat <<TEXT

dockmaster demo: open http://127.0.0.1:8080/   (API: http://127.0.0.1:8080/api/items/)
No Docker engine is reachable, so this is the loopback demo. To watch a heal, kill the
backend from another terminal:
  kill \$(cat $backend_pid)
and watch dockmaster notice, restart it and put it back in rotation.
$(if [[ -n $docker_cli ]]; then echo "Docker is installed but no engine answers: DOCKMASTER_DEMO=private scripts/demo.sh
starts the project's own engine (as the tests do) and runs the real compose stack on it."; fi)

Status page:     http://127.0.0.1:9901/   (metrics: http://127.0.0.1:9901/metrics)

TEXT
  build-release/dockmaster --config config/examples/demo.json
}

case "${1:-}:${DOCKMASTER_DEMO:-auto}" in
  down:private) eval "$(scripts/docker_engine.sh env)"; compose down ;;
  down:*) compose down ;;
  *:local) run_local ;;
  *:stack) engine_reachable || { echo "demo: no Docker engine is reachable" >&2; exit 1; }; run_stack ;;
  *:private)
    eval "$(scripts/docker_engine.sh start)"
    echo "demo: the private engine runs (stop it with scripts/docker_engine.sh stop); DOCKER_HOST=$DOCKER_HOST" >&2
    run_stack ;;
  *) if engine_reachable; then run_stack; else run_local; fi ;;
esac
