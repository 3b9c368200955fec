#!/bin/sh
# start.sh: the backend service, as run by service-holder (the container's PID 1):
#   service-holder --reload-signal HUP -- /app/start.sh
# Applies the migrations (waiting up to DB_WAIT seconds, default 60, for the database
# to accept connections, as it does not at first on a fresh volume), then becomes the
# gunicorn master (exec: same pid), so that `docker exec <backend> service-restart`
# sends HUP to gunicorn (a graceful reload of its workers) while it runs, and starts
# this script again when it is down.
#
# Env: PORT (8000) or BIND (0.0.0.0:$PORT), WORKERS (2), DB_WAIT (60),
# GRACEFUL_TIMEOUT (8), and the DATABASE_* / DJANGO_* of stack/settings.py.
set -eu
cd "$(dirname "$0")"

# A reload requested (HUP) while this script still runs, or while the gunicorn
# master starts up, is ignored instead of ending the service: gunicorn sets its own
# HUP handler once it is up. (Ignored stays ignored across exec; trapped would not.)
trap '' HUP

python3 manage.py wait_for_db --timeout "${DB_WAIT:-60}"
python3 manage.py migrate --noinput

# Workers left by a master that was killed (SIGKILL) get TERM from the kernel when it
# dies (gunicorn.conf.py); one still busy would keep the port, so it goes now.
if pgrep -f '^gunicorn: (master|worker)' >/dev/null; then
  sleep 1
  pkill -KILL -f '^gunicorn: (master|worker)' 2>/dev/null || true
fi

exec gunicorn --config gunicorn.conf.py \
  --bind "${BIND:-0.0.0.0:${PORT:-8000}}" \
  --workers "${WORKERS:-2}" \
  --access-logfile - \
  stack.wsgi
