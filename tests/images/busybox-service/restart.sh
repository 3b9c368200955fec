#!/bin/sh
# Restarts the service like `pm2 restart app` or `systemctl restart x`: asks the
# process manager (PID 1, /supervise.sh) with SIGHUP, then waits, at most 10 s, until
# it has started the service again (looking every 20 ms: the benchmarks time the whole
# restart). Exit 0 when it has, 1 otherwise.
before=$(cat /tmp/service.generation 2>/dev/null || echo 0)
kill -HUP 1 || exit 1
i=0
while [ "$i" -lt 500 ]; do
  now=$(cat /tmp/service.generation 2>/dev/null || echo 0)
  if [ "$now" != "$before" ]; then
    echo "service restarted: pid $(cat /tmp/service.pid), generation $now"
    exit 0
  fi
  sleep 0.02
  i=$((i + 1))
done
echo "restart requested but the service was not started again within 10 s" >&2
exit 1
