#!/bin/sh
# PID 1 of the busybox-service test image: a tiny process manager in the manner of
# pm2 or systemd. It starts the service and keeps the container alive whether the
# service runs or not. A service that dies stays down: nothing restarts it until a
# restart is requested with /restart.sh (SIGHUP to this process), which stops the
# service if it still runs, also when it is stopped (SIGSTOP, a hung service), and
# starts it again. SIGTERM (docker stop) stops both.
#
# Environment: IGNORE_TERM=1 makes it ignore SIGTERM; PORT (default 8080); SERVICE_CMD, a shell command line in which $PORT
# is expanded when the service starts (default: busybox httpd serving /www on
# 127.0.0.1:$PORT in the foreground). Another TCP service, for example:
#   SERVICE_CMD='nc -lk -p $PORT -e echo ok'
# State, for the tests: /tmp/service.pid and /tmp/service.generation (one more at
# every start).

PORT=${PORT:-8080}
export PORT
: "${SERVICE_CMD:=httpd -f -p 127.0.0.1:\$PORT -h /www}"
state=/tmp
service_pid=
restart=0

log() { echo "supervise: $*"; }

start_service() {
  sh -c "exec $SERVICE_CMD" &
  service_pid=$!
  echo "$service_pid" > "$state/service.pid.new" && mv "$state/service.pid.new" "$state/service.pid"
  generation=$(( $(cat "$state/service.generation" 2>/dev/null || echo 0) + 1 ))
  echo "$generation" > "$state/service.generation.new" && mv "$state/service.generation.new" "$state/service.generation"
  log "service started: pid $service_pid, generation $generation: $SERVICE_CMD (PORT=$PORT)"
}

stop_service() {
  if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
    kill "$service_pid" 2>/dev/null
    # A stopped service (SIGSTOP: hung) keeps the SIGTERM pending until it runs again:
    # SIGCONT lets it act on it at once, as systemd sends after its stop signal.
    kill -CONT "$service_pid" 2>/dev/null
    i=0
    # (A dead child not yet reaped answers kill -0 too; the shell reaps it while it
    # waits for the foreground sleep.)
    while kill -0 "$service_pid" 2>/dev/null && [ "$i" -lt 50 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    kill -9 "$service_pid" 2>/dev/null
  fi
  [ -n "$service_pid" ] && wait "$service_pid" 2>/dev/null
  service_pid=
}

trap 'restart=1' HUP
if [ "${IGNORE_TERM:-0}" = 1 ]; then
  # Like a node or python server run as PID 1 without a signal handler: `docker stop`
  # and `docker restart` wait their whole timeout, then kill.
  # (A handler that does nothing, not an ignored signal, which the service would inherit.)
  trap 'log "ignoring SIGTERM"' TERM INT
else
  trap 'log "stopping"; stop_service; exit 0' TERM INT
fi

start_service
while :; do
  if [ "$restart" = 1 ]; then
    restart=0
    log "restart requested"
    stop_service
    start_service
  fi
  # A trapped signal interrupts `wait` at once, unlike a foreground sleep.
  sleep 1 &
  sleeper=$!
  wait "$sleeper"
  kill "$sleeper" 2>/dev/null
done
