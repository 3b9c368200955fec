"""Health endpoints and JSON error pages."""
from django.db import connection
from django.http import JsonResponse as _JsonResponse


def JsonResponse(data, status=200):
    """Compact JSON, like the API's (DRF) responses."""
    return _JsonResponse(data, status=status, json_dumps_params={"separators": (",", ":")})


def live(request):
    """Liveness: this process answers HTTP. It does not touch the database.

    This is what the manager (dockmaster) probes to decide whether to restart the
    backend: a database outage must not make it restart the backend as well (which
    would not help, and would pile the backend's restarts on top of the database's).
    """
    return JsonResponse({"status": "ok"})


def health(request):
    """Readiness: the backend AND its database. 503 with the driver's error when the
    database cannot be reached (within the connect timeout, ~2 s)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means: not ready
        try:
            connection.close()
        except Exception:
            pass
        return JsonResponse({"status": "unavailable", "database": str(exc) or type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def not_found(request, exception=None):
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    return JsonResponse({"detail": "Server error."}, status=500)
