"""`ehub serve`: eHub's production web server (gunicorn, static files through WhiteNoise).

Workers and threads: ``EHUB_WEB_WORKERS`` processes (default 2, one per core) each running
``EHUB_WEB_THREADS`` threads (default 8, gunicorn's ``gthread`` worker). A request spends much
of its time waiting on PostgreSQL and Redis; with one thread per process a 2-core box serves
two requests at a time and a crowd queues in the listen backlog (a flash sale measured 25
orders/s that way). Threads overlap those waits; keep processes ≈ cores because the GIL lets
one thread of a process run Python at a time. ``EHUB_WEB_ACCESS_LOG=0`` turns the per-request
access log off (a flash sale writes thousands of lines a second).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve eHub with gunicorn (processes from EHUB_WEB_WORKERS, threads per process from "
        "EHUB_WEB_THREADS, address from EHUB_BIND)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default=settings.EHUB_BIND, help="host:port (default EHUB_BIND)"
        )
        parser.add_argument("--workers", type=int, default=settings.EHUB_WEB_WORKERS)
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.EHUB_WEB_THREADS,
            help="threads per worker process (gthread; default EHUB_WEB_THREADS or 8)",
        )
        parser.add_argument("--timeout", type=int, default=30)
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="skip collecting static files first"
        )

    def handle(self, *args, **opts):
        if not opts["no_collectstatic"] and not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        run_gunicorn(opts["bind"], opts["workers"], opts["threads"], opts["timeout"])


def run_gunicorn(bind: str, workers: int, threads: int, timeout: int) -> None:
    from gunicorn.app.base import BaseApplication

    from ehub.wsgi import application

    class EhubApplication(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            if threads > 1:
                self.cfg.set("worker_class", "gthread")
            # A crowd arrives at once: a deeper listen queue than the default 2048 is not
            # needed, but connections must be kept alive between a client's requests.
            self.cfg.set("keepalive", 5)
            self.cfg.set("timeout", timeout)
            if settings.EHUB_WEB_ACCESS_LOG:
                self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "ehub")

        def load(self):
            return application

    EhubApplication().run()
