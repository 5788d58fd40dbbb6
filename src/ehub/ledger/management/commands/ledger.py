"""``ehub ledger verify``: check the ledger's invariants (exit status 1 and the problems if any).
``ehub ledger balances``: every account with its balances. ``ehub ledger expire``: release
timed-out pending transfers now (the worker's sweep does it every minute)."""

import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Ledger administration: verify invariants, list balances, expire pending transfers."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "verify",
            help="Check Σ debits = Σ credits per currency, balances = sums of transfers, flags.",
        )
        balances = sub.add_parser("balances", help="List accounts and their balances.")
        balances.add_argument("--prefix", default="", help='Only codes starting with, e.g. "fx:".')
        sub.add_parser("expire", help="Expire pending transfers whose timeout has passed.")

    def handle(self, *args, **options):
        from ehub.ledger import services

        action = options["action"]
        if action == "verify":
            problems = services.verify()
            if problems:
                for problem in problems:
                    self.stderr.write(problem)
                self.stderr.write(f"{len(problems)} problem(s): the ledger does NOT balance")
                sys.exit(1)
            self.stdout.write("ok: the ledger balances")
        elif action == "balances":
            self._balances(options["prefix"])
        elif action == "expire":
            self.stdout.write(f"{services.expire_pending()} pending transfer(s) expired")

    def _balances(self, prefix: str) -> None:
        from ehub.ledger.models import Account

        header = (
            "code",
            "ccy",
            "debits pending",
            "debits posted",
            "credits pending",
            "credits posted",
        )
        self.stdout.write("  ".join(header))
        qs = Account.objects.order_by("code")
        if prefix:
            qs = qs.filter(code__startswith=prefix)
        for a in qs.iterator():
            self.stdout.write(
                f"{a.code}  {a.currency}  {a.debits_pending}  {a.debits_posted}  "
                f"{a.credits_pending}  {a.credits_posted}"
            )
