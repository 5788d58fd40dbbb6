"""``ehub catalog export|import|check``: a merchant's catalog as CSV from the command line.

ehub catalog export --org ORG-… [--output catalog.csv]
ehub catalog check  --org ORG-… catalog.csv      # dry run: every bad row and column
ehub catalog import --org ORG-… catalog.csv      # all rows or none
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ehub.accounts.domain import OrgKind
from ehub.accounts.models import Organization
from ehub.catalog import importer
from ehub.core.context import Context
from ehub.core.errors import ValidationFailed
from ehub.core.ids import InvalidPublicId, normalize_public_id


class Command(BaseCommand):
    help = "Export, check or import a merchant's catalog as CSV."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Write the catalog as CSV.")
        export.add_argument("--org", required=True, help="The merchant's ORG-… reference.")
        export.add_argument("--output", help="File to write (default: standard output).")
        for name, text in (("check", "Dry run."), ("import", "Import all rows or none.")):
            action = sub.add_parser(name, help=text)
            action.add_argument("--org", required=True, help="The merchant's ORG-… reference.")
            action.add_argument("file", help="CSV file (UTF-8).")

    def _ctx(self, reference: str) -> Context:
        try:
            public_id = normalize_public_id(reference, "ORG")
        except InvalidPublicId as exc:
            raise CommandError(str(exc)) from None
        org = Organization.objects.filter(public_id=public_id, kind=OrgKind.MERCHANT).first()
        if org is None:
            raise CommandError(f"No merchant organization {public_id}.")
        return Context(user=None, org=org, roles=frozenset({"system"}), via="cli")

    def handle(self, *args, action, org, **options):
        ctx = self._ctx(org)
        if action == "export":
            content = importer.export_csv(ctx)
            if options.get("output"):
                Path(options["output"]).write_text(content, encoding="utf-8")
            else:
                sys.stdout.write(content.lstrip("\ufeff"))
            return
        content = Path(options["file"]).read_bytes()
        try:
            report = (importer.check if action == "check" else importer.run)(ctx, content)
        except ValidationFailed as exc:
            report = importer.check(ctx, content)
            for error in report.errors:
                self.stderr.write(f"row {error.row}, {error.column}: {error.message}")
            raise CommandError(str(exc.title)) from None
        for error in report.errors:
            self.stderr.write(f"row {error.row}, {error.column}: {error.message}")
        summary = (
            f"{report.rows} rows: {report.products_created} products new, "
            f"{report.products_updated} updated; {report.skus_created} SKUs new, "
            f"{report.skus_updated} updated"
        )
        if not report.ok:
            raise CommandError(f"{len(report.errors)} problems; nothing imported. {summary}")
        self.stdout.write(("Checked: " if action == "check" else "Imported: ") + summary)
