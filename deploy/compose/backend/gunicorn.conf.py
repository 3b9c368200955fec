"""Gunicorn settings that start.sh's command line does not give (bind, workers and
the access log are given there)."""
import ctypes
import os
import signal

# Old workers get this long to finish their requests on a reload (HUP) or a stop
# (TERM), which keeps `docker stop` (10 s by default) clean.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "8"))

_PR_SET_PDEATHSIG = 1


def post_fork(server, worker):
    """Runs in each new worker: when its master dies (even by SIGKILL) the kernel
    sends the worker TERM. Without this the orphaned workers would keep serving on
    the listening socket they share for up to timeout/2 seconds, so the port would
    not go down with the master, and the master that service-restart starts next
    could not bind it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except Exception as exc:  # not Linux, or no prctl: start.sh still cleans up
        worker.log.warning("PR_SET_PDEATHSIG not set: %s", exc)
    if os.getppid() != worker.ppid:  # the master died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
