"""``ehub customs load-tariff FILE`` (or ``--default``): load dated tariff files.
``ehub customs poll``: apply the receipt files waiting in the file-drop gateway's inbox."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ehub.catalog import tariff
from ehub.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Customs engine administration: load tariff files, poll the receipt inbox."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load-tariff", help="Load a dated tariff CSV (all-or-nothing, idempotent)."
        )
        load.add_argument("files", nargs="*", help="Tariff CSV files.")
        load.add_argument(
            "--default", action="store_true", help="Load the tariff files shipped with eHub."
        )

        poll = sub.add_parser(
            "poll", help="Apply receipt XML files from the file-drop inbox (EHUB_CUSTOMS_INBOX)."
        )
        poll.add_argument("--inbox", help="Inbox folder (default: EHUB_CUSTOMS_INBOX).")

    def handle(self, *args, **options):
        if options["action"] == "load-tariff":
            self._load_tariff(options["files"], options["default"])
        elif options["action"] == "poll":
            self._poll(options.get("inbox"))

    def _poll(self, inbox):
        from ehub.core.context import Context
        from ehub.customs import declarations
        from ehub.customs.gateways import FileDropGateway

        ctx = Context.system()
        result = FileDropGateway(inbox=inbox).poll(lambda raw: declarations.apply_receipt(ctx, raw))
        for name in result.failed:
            self.stderr.write(f"failed: {name} (see failed/{name}.error)")
        self.stdout.write(f"{len(result.processed)} processed, {len(result.failed)} failed")

    def _load_tariff(self, files, default):
        if not files and not default:
            raise CommandError("name a tariff file, or pass --default for the shipped ones")
        try:
            with transaction.atomic():  # every file or none
                results = tariff.load_default_tariff() if default else []
                for path in files:
                    results.append(tariff.load_tariff_file(path))
        except ValidationFailed as exc:
            lines = [f"{error.field}: {error.message}" for error in exc.errors]
            raise CommandError(
                "nothing loaded; the tariff file has errors:\n  " + "\n  ".join(lines)
            ) from None
        for result in results:
            self.stdout.write(str(result))
