"""`ehub serve`: eHub's production web server (gunicorn, static files through WhiteNoise)."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve eHub with gunicorn (workers from EHUB_WEB_WORKERS, address from EHUB_BIND)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default=settings.EHUB_BIND, help="host:port (default EHUB_BIND)"
        )
        parser.add_argument("--workers", type=int, default=settings.EHUB_WEB_WORKERS)
        parser.add_argument("--threads", type=int, default=1)
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
            self.cfg.set("timeout", timeout)
            self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "ehub")

        def load(self):
            return application

    EhubApplication().run()
