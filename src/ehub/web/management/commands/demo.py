"""`ehub demo`: migrate, seed demo data, print the logins, then serve eHub with a worker."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ehub.web import demo


class Command(BaseCommand):
    help = "Set up a demo eHub (SQLite by default) and serve it with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("--seed-only", action="store_true", help="seed demo data and exit")
        parser.add_argument("--bind", default=settings.EHUB_BIND)
        parser.add_argument("--workers", type=int, default=settings.EHUB_WEB_WORKERS)

    def handle(self, *args, **opts):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        self._seed_fx()
        logins = demo.seed(out=self.stdout.write)
        self._print_logins(logins, opts["bind"])
        if opts["seed_only"]:
            return
        from ehub.core.management.commands.serve import run_gunicorn

        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        worker = subprocess.Popen(
            [sys.executable, "-m", "ehub", "worker", "--no-startup-delay", "--no-reload"]
        )
        try:
            run_gunicorn(opts["bind"], opts["workers"], threads=1, timeout=30)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()

    def _seed_fx(self) -> None:
        from ehub.core.fx import seed_ecb_rates

        seed_ecb_rates()

    def _print_logins(self, logins, bind: str) -> None:
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS("eHub demo is ready."))
        w(
            f"  Open http://{bind}/  (API docs: http://{bind}/api/v1/docs, admin: http://{bind}/admin/)"
        )
        w(f"  Every demo login uses the password: {demo.DEMO_PASSWORD}")
        w("")
        width = max(len(login.email) for login in logins)
        for login in logins:
            org = f" — {login.org}" if login.org else ""
            w(f"  {login.email.ljust(width)}  {login.role}{org}")
        w("")
