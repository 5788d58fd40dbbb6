"""``ehub fx seed`` stores ECB reference rates offline; ``ehub fx show`` lists the latest."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from ehub.core import fx


def _currencies(value: str) -> list[str]:
    return [code.strip().upper() for code in value.split(",") if code.strip()]


class Command(BaseCommand):
    help = "Foreign-exchange rates: seed from the bundled ECB history, or show the latest."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser("seed", help="Store ECB rates for every pair of the currencies.")
        seed.add_argument(
            "--currencies",
            type=_currencies,
            default=list(fx.SEED_CURRENCIES),
            help="Comma-separated ISO codes (default: %(default)s).",
        )
        seed.add_argument(
            "--on",
            type=dt.date.fromisoformat,
            default=None,
            help="Use the last ECB day on or before this date (YYYY-MM-DD; default: latest).",
        )
        show = sub.add_parser("show", help="List the latest rate of every pair.")
        show.add_argument("--base", type=str.upper, default=None, help="Only this base currency.")
        show.add_argument("--source", default=None, help="Only this source (e.g. ecb).")

    def handle(self, *args, **options):
        if options["action"] == "seed":
            try:
                result = fx.seed_ecb_rates(options["currencies"], on=options["on"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"ECB rates of {result.on.isoformat()}: {result.created} new, "
                f"{result.pairs - result.created} already stored ({result.pairs} pairs)."
            )
        else:
            rows = list(fx.latest_rates(source=options["source"], base=options["base"]))
            if not rows:
                self.stdout.write("No FX rates stored. Run `ehub fx seed`.")
                return
            for row in rows:
                self.stdout.write(
                    f"{row.base}/{row.quote}  {row.rate:>24}  {row.source:<8} "
                    f"{row.as_of.isoformat()}"
                )
