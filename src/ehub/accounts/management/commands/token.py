"""`ehub token create|list|revoke`: manage API tokens from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ehub.accounts import services
from ehub.accounts.models import Organization, User
from ehub.core.errors import DomainError


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. A created token is printed once and stored hashed."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for an organization")
        create.add_argument(
            "--org", required=True, help="organization public id (ORG-…) or registration number"
        )
        create.add_argument(
            "--user", required=True, help="email of an owner or admin of that organization"
        )
        create.add_argument("--name", required=True, help="what the token is for")
        lst = sub.add_parser("list", help="list an organization's tokens")
        lst.add_argument("--org", required=True)
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, **opts):
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    def _org(self, ref: str) -> Organization:
        org = (
            Organization.objects.filter(public_id=ref.upper()).first()
            or Organization.objects.filter(registration_number=ref).first()
        )
        if org is None:
            raise CommandError(f"no organization {ref!r}")
        return org

    def _ctx_for(self, org: Organization, email: str):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"no user {email!r}")
        ctx = services.build_context(user, org.pk, via="cli")
        if ctx.org is None or ctx.org.pk != org.pk:
            raise CommandError(f"{email} is not a member of {org.public_id}")
        return ctx

    def _create(self, opts):
        org = self._org(opts["org"])
        issued = services.create_token(self._ctx_for(org, opts["user"]), opts["name"])
        self.stderr.write(
            f"Token {issued.token.prefix} for {org.name}. It is shown once; store it now:"
        )
        self.stdout.write(issued.secret)

    def _list(self, opts):
        org = self._org(opts["org"])
        for t in org.api_tokens.order_by("-created_at"):
            state = "revoked" if t.revoked_at else "active"
            self.stdout.write(
                f"{t.prefix}\t{state}\t{t.name}\tlast used {t.last_used_at or 'never'}"
            )

    def _revoke(self, opts):
        from ehub.accounts.models import ApiToken

        token = (
            ApiToken.objects.select_related("org", "created_by")
            .filter(prefix=opts["prefix"])
            .first()
        )
        if token is None:
            raise CommandError(f"no token {opts['prefix']!r}")
        if token.org_id is None:  # a personal token: revoked as its owner would
            ctx = services.Context(user=token.created_by, org=None, roles=frozenset(), via="cli")
            services.revoke_personal_token(ctx, token.pk)
        else:
            ctx = services.Context(
                user=token.created_by, org=token.org, roles=frozenset({"owner"}), via="cli"
            )
            services.revoke_token(ctx, token.pk)
        self.stdout.write(f"revoked {token.prefix}")
