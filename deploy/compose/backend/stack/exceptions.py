"""DRF's exception handler, plus: a database that cannot be reached answers 503
(the service's dependency is unavailable) instead of a 500."""
from django.db import OperationalError, InterfaceError, connection
from rest_framework.response import Response
from rest_framework.views import exception_handler


def handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        try:
            connection.close()
        except Exception:
            pass
        return Response({"detail": "database unavailable: %s" % exc}, status=503)
    return exception_handler(exc, context)
