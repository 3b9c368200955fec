"""`manage.py wait_for_db [--timeout S]`: waits until the database accepts a
connection (one line per failed attempt); exit 1 when it has not within the timeout."""
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Wait until the database accepts connections."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0)
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, timeout, interval, **options):
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection.ensure_connection()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                return
            except Exception as exc:
                connection.close()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CommandError("database not reachable after %gs: %s" % (timeout, exc))
                self.stderr.write("waiting for the database (%ds left): %s" % (left, exc))
                time.sleep(min(interval, left))
