"""Use cases of accounts: sign-up, approval, memberships, the request Context, API tokens.

Each public function is one transaction, takes a Context where someone acts, and writes the
audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed

from .domain import (
    InvalidNumber,
    OrgKind,
    OrgStatus,
    Role,
    normalize_cn_resident_id,
    normalize_registration_number,
    portals_for,
)
from .models import ApiToken, BuyerProfile, Membership, Organization, User

SESSION_ORG_KEY = "ehub_active_org"

# ---------------------------------------------------------------------------------------------
# The Context
# ---------------------------------------------------------------------------------------------


def memberships_of(user) -> list[Membership]:
    if user is None or not user.is_authenticated:
        return []
    cached = getattr(user, "_ehub_memberships", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(
                user=user, org__status__in=[OrgStatus.ACTIVE, OrgStatus.PENDING]
            )
            .select_related("org")
            .order_by("org__legal_name", "role")
        )
        user._ehub_memberships = cached
    return cached


def orgs_of(user) -> list[Organization]:
    seen: dict[int, Organization] = {}
    for m in memberships_of(user):
        seen.setdefault(m.org_id, m.org)
    return list(seen.values())


def build_context(
    user, active_org_id: int | None = None, *, via: str = "web", request_id: str = ""
) -> Context:
    """The Context for a signed-in user: the chosen org if they belong to it, else their first."""
    if user is None or not user.is_authenticated:
        return Context(user=None, org=None, roles=frozenset(), via=via, request_id=request_id)
    members = memberships_of(user)
    org = None
    if active_org_id is not None:
        org = next((m.org for m in members if m.org_id == active_org_id), None)
    if org is None and members:
        org = members[0].org
    roles = frozenset(m.role for m in members if org is not None and m.org_id == org.pk)
    return Context(user=user, org=org, roles=roles, via=via, request_id=request_id)


@dataclass(frozen=True)
class PersonalTokenContext(Context):
    """A call made with a personal token: its maker, with no organization and no roles, and
    without the platform-staff power a Django staff account has when signed in (see
    ``is_platform_staff``), so the token reaches only what a buyer reaches."""


def context_for_token(token: ApiToken, request_id: str = "") -> Context:
    """API calls made with a token act for the token's org, with the creator's roles there; a
    personal token acts for its creator with no organization."""
    if token.org_id is None:
        return PersonalTokenContext(user=token.created_by, via="api", request_id=request_id)
    roles: frozenset[str] = frozenset()
    if token.created_by_id:
        roles = frozenset(
            Membership.objects.filter(user_id=token.created_by_id, org_id=token.org_id).values_list(
                "role", flat=True
            )
        )
    return Context(
        user=token.created_by, org=token.org, roles=roles, via="api", request_id=request_id
    )


def portals_of(ctx: Context, *, org_scoped: bool = False) -> list[str]:
    """The portals the caller may enter; an ``org_scoped`` credential only its org's."""
    if org_scoped:
        return portals_for({ctx.org.kind} if ctx.org is not None else set())
    kinds = {o.kind for o in orgs_of(ctx.user)} if ctx.is_authenticated else set()
    if ctx.is_authenticated and ctx.user.is_staff:
        kinds.add(OrgKind.PLATFORM)
    return portals_for(kinds)


def switch_org(user, org_id: int) -> Organization:
    """Check that the user belongs to org_id; the caller stores it in the session."""
    org = next((o for o in orgs_of(user) if o.pk == org_id), None)
    if org is None:
        raise NotFound(_("Organization not found."))
    return org


def scoped(qs: QuerySet, ctx: Context, field: str = "org") -> QuerySet:
    """Restrict a queryset to rows of the caller's active organization (none without one)."""
    if ctx.org is None:
        return qs.none()
    return qs.filter(**{field: ctx.org})


def orgs_visible_to(ctx: Context, *, org_scoped: bool = False) -> QuerySet:
    """The organizations the caller may read: those they belong to (active or pending).

    ``org_scoped`` credentials (API tokens) see only their own org, even when the token's
    creator belongs to others: a token for org A never reads org B.
    """
    if org_scoped:
        if ctx.org is None:
            return Organization.objects.none()
        return Organization.objects.filter(
            pk=ctx.org.pk, status__in=[OrgStatus.ACTIVE, OrgStatus.PENDING]
        )
    if not ctx.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(
        pk__in=Membership.objects.filter(user=ctx.user).values("org_id"),
        status__in=[OrgStatus.ACTIVE, OrgStatus.PENDING],
    ).order_by("legal_name", "pk")


def memberships_visible_to(ctx: Context, *, org_scoped: bool = False) -> list[Membership]:
    """The caller's memberships, limited to the credential's org when ``org_scoped``."""
    members = memberships_of(ctx.user)
    if org_scoped:
        members = [m for m in members if m.org_id == ctx.org_id]
    return members


def set_language(user, language: str) -> None:
    if user is not None and user.is_authenticated and user.preferred_language != language:
        User.objects.filter(pk=user.pk).update(preferred_language=language)
        user.preferred_language = language


# ---------------------------------------------------------------------------------------------
# Sign-up and approval
# ---------------------------------------------------------------------------------------------


def _check_new_user(email: str, password: str, full_name: str) -> list[FieldError]:
    errors: list[FieldError] = []
    try:
        validate_email(email)
    except DjangoValidationError:
        errors.append(FieldError("email", _("Enter a valid email address."), "invalid"))
    else:
        if User.objects.filter(email__iexact=email).exists():
            errors.append(
                FieldError("email", _("An account with this email already exists."), "taken")
            )
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except DjangoValidationError as exc:
        errors.extend(FieldError("password", str(m), "weak") for m in exc.messages)
    if not full_name.strip():
        errors.append(FieldError("full_name", _("Enter your name."), "required"))
    return errors


@dataclass(frozen=True)
class BuyerSignup:
    email: str
    password: str
    full_name: str
    language: str = ""


def sign_up_buyer(data: BuyerSignup) -> User:
    email = data.email.strip().lower()
    errors = _check_new_user(email, data.password, data.full_name)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        user = User.objects.create_user(
            email, data.password, full_name=data.full_name.strip(), preferred_language=data.language
        )
        BuyerProfile.objects.create(user=user)
        audit.record(Context(user=user, via="web"), "buyer.signed_up", user, after={"email": email})
    return user


@dataclass(frozen=True)
class MerchantSignup:
    email: str
    password: str
    full_name: str
    legal_name: str
    registration_number: str
    country: str = "MY"
    language: str = ""


def sign_up_merchant(data: MerchantSignup) -> tuple[User, Organization]:
    """A new SME: owner account plus a merchant org that waits for platform approval."""
    email = data.email.strip().lower()
    errors = _check_new_user(email, data.password, data.full_name)
    country = data.country.strip().upper()
    if not data.legal_name.strip():
        errors.append(
            FieldError("legal_name", _("Enter the company's registered name."), "required")
        )
    if len(country) != 2 or not country.isalpha():
        errors.append(FieldError("country", _("Enter a two-letter country code."), "invalid"))
    reg = ""
    if not data.registration_number.strip():
        errors.append(
            FieldError(
                "registration_number", _("Enter the company registration number."), "required"
            )
        )
    else:
        try:
            reg = normalize_registration_number(country, data.registration_number)
        except InvalidNumber as exc:
            errors.append(FieldError(exc.field, str(exc.message), "invalid"))
    if reg and Organization.objects.filter(country=country, registration_number=reg).exists():
        errors.append(
            FieldError(
                "registration_number",
                _("A company with this registration number is already registered."),
                "taken",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        user = User.objects.create_user(
            email, data.password, full_name=data.full_name.strip(), preferred_language=data.language
        )
        org = Organization.objects.create(
            kind=OrgKind.MERCHANT,
            legal_name=data.legal_name.strip(),
            registration_number=reg,
            country=country,
            status=OrgStatus.PENDING,
        )
        Membership.objects.create(user=user, org=org, role=Role.OWNER)
        ctx = Context(user=user, org=org, roles=frozenset({Role.OWNER}))
        audit.record(
            ctx,
            "merchant.signed_up",
            org,
            after={"legal_name": org.legal_name, "status": org.status},
        )
    return user, org


def is_platform_staff(ctx: Context, *, allow_system: bool = False) -> bool:
    """A Django staff user (signed in, not through a personal token), or an owner/admin/staff
    member of the platform organization.

    Without ``allow_system`` the caller must be a signed-in person. With it, callers that are
    no person pass too: the ``system`` role, and a command or task acting for the platform
    organization with one of those roles (payments lets the order lifecycle refund and settle).
    """
    if allow_system and ctx.has_role("system"):
        return True
    if ctx.is_authenticated and ctx.user.is_staff and not isinstance(ctx, PersonalTokenContext):
        return True
    if not (ctx.is_authenticated or allow_system):
        return False
    return ctx.org_kind == OrgKind.PLATFORM and ctx.has_role(Role.OWNER, Role.ADMIN, Role.STAFF)


def require_platform_staff(ctx: Context) -> None:
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    if not is_platform_staff(ctx):
        raise PermissionDenied(_("Only platform staff may do this."))


def pending_merchants(ctx: Context) -> QuerySet:
    require_platform_staff(ctx)
    return Organization.objects.filter(kind=OrgKind.MERCHANT, status=OrgStatus.PENDING).order_by(
        "created_at"
    )


def approve_org(ctx: Context, org_id: int) -> Organization:
    require_platform_staff(ctx)
    with transaction.atomic():
        try:
            org = Organization.objects.select_for_update().get(pk=org_id)
        except Organization.DoesNotExist as exc:
            raise NotFound(_("Organization not found.")) from exc
        if org.status == OrgStatus.ACTIVE:
            return org  # idempotent
        if org.status != OrgStatus.PENDING:
            raise Conflict(_("Only a pending organization can be approved."))
        before = {"status": org.status}
        org.status = OrgStatus.ACTIVE
        org.approved_at = clock.now()
        org.approved_by = ctx.user
        org.save(update_fields=["status", "approved_at", "approved_by"])
        audit.record(ctx, "org.approved", org, before=before, after={"status": org.status})
    return org


# ---------------------------------------------------------------------------------------------
# Operations: the academy's trainers (the trainer role in the platform organization)
# ---------------------------------------------------------------------------------------------


def active_user_by_email(email: str | None) -> User | None:
    """The active account with this email address (as typed: case and spaces do not count)."""
    return User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()


def _platform_org() -> Organization:
    org = (
        Organization.objects.filter(kind=OrgKind.PLATFORM, status=OrgStatus.ACTIVE)
        .order_by("pk")
        .first()
    )
    if org is None:
        raise Conflict(_("There is no platform organization yet."))
    return org


def trainers(ctx: Context) -> list[Membership]:
    """The platform's trainers, by name (platform staff only)."""
    require_platform_staff(ctx)
    return list(
        Membership.objects.filter(
            org__kind=OrgKind.PLATFORM, org__status=OrgStatus.ACTIVE, role=Role.TRAINER
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def appoint_trainer(ctx: Context, email: str) -> Membership:
    """Give an existing, active person the trainer role in the platform organization: they may
    then write courses and lead cohorts in the academy. Appointing twice changes nothing."""
    require_platform_staff(ctx)
    user = active_user_by_email(email)
    if user is None:
        raise ValidationFailed.single(
            "email", _("No active account has this email address."), "unknown"
        )
    org = _platform_org()
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, org=org, role=Role.TRAINER
        )
        if created:
            audit.record(ctx, "org.trainer_appointed", org, after={"user": user.pk})
    return membership


def dismiss_trainer(ctx: Context, membership_id: int) -> None:
    """Take the trainer role away. Their courses and cohorts stay (and stay theirs): the studio
    and cohort pages are closed to them until they are appointed again."""
    require_platform_staff(ctx)
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(pk=membership_id, org__kind=OrgKind.PLATFORM, role=Role.TRAINER)
            .first()
        )
        if membership is None:
            raise NotFound(_("Trainer not found."))
        audit.record(
            ctx, "org.trainer_dismissed", membership.org, before={"user": membership.user_id}
        )
        membership.delete()


# ---------------------------------------------------------------------------------------------
# API tokens: shown once, stored as SHA-256 (they carry 256 bits, so a slow hash adds nothing)
# ---------------------------------------------------------------------------------------------

TOKEN_PREFIX = "ehub_"  # noqa: S105 — a marker, not a secret


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the full bearer value; show it once, it is not stored


def require_org_admin(ctx: Context) -> None:
    if not ctx.is_authenticated or ctx.org is None:
        raise PermissionDenied(_("Choose an organization first."))
    if not ctx.has_role(Role.OWNER, Role.ADMIN):
        raise PermissionDenied(
            _("Only an owner or administrator of this organization may manage API tokens.")
        )


def create_token(ctx: Context, name: str) -> IssuedToken:
    require_org_admin(ctx)
    name = _token_name(name)
    with transaction.atomic():
        return _issue(ctx, ctx.org, name)


def _issue(ctx: Context, org: Organization | None, name: str) -> IssuedToken:
    """Make and audit a token of ``org`` (None: a personal one) by ctx.user, in the caller's
    transaction."""
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        org=org, created_by=ctx.user, name=name, prefix=prefix, token_hash=_hash_token(raw)
    )
    audit.record(ctx, "api_token.created", token, after={"name": name, "prefix": prefix})
    return IssuedToken(token=token, secret=raw)


def list_tokens(ctx: Context) -> QuerySet:
    require_org_admin(ctx)
    return scoped(ApiToken.objects.select_related("created_by"), ctx)


def revoke_token(ctx: Context, token_id: int) -> ApiToken:
    require_org_admin(ctx)
    return _revoke(ctx, scoped(ApiToken.objects.all(), ctx), token_id)


def _revoke(ctx: Context, tokens: QuerySet, token_id: int) -> ApiToken:
    """Revoke one of ``tokens`` (the caller's to revoke); revoking twice changes nothing."""
    with transaction.atomic():
        token = tokens.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise NotFound(_("Token not found."))
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            token.save(update_fields=["revoked_at"])
            audit.record(ctx, "api_token.revoked", token, after={"prefix": token.prefix})
    return token


def _token_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed([FieldError("name", _("Give the token a name."), "required")])
    if len(name) > 100:
        raise ValidationFailed([FieldError("name", _("Use at most 100 characters."), "too_long")])
    return name


def _require_signed_in(ctx: Context) -> None:
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))


# A personal token is made by a person for their own scripts or apps (a buyer's, say): it acts
# for that person with no organization, so a merchant's staff member cannot use one to reach
# the company's data. Creating and revoking it needs the person's own signed-in session.
MAX_PERSONAL_TOKENS = 20


def create_personal_token(ctx: Context, name: str) -> IssuedToken:
    _require_signed_in(ctx)
    name = _token_name(name)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=ctx.user.pk).first()  # one at a time
        active = ApiToken.objects.filter(
            created_by=ctx.user, org__isnull=True, revoked_at__isnull=True
        ).count()
        if active >= MAX_PERSONAL_TOKENS:
            raise ValidationFailed(
                [
                    FieldError(
                        "name",
                        _("You have %(n)d active tokens: revoke one you no longer use first.")
                        % {"n": active},
                        "too_many",
                    )
                ]
            )
        return _issue(ctx, None, name)


def list_personal_tokens(ctx: Context) -> QuerySet:
    """The caller's personal tokens: the active ones (at most MAX_PERSONAL_TOKENS) first, so a
    list cut to its first rows never hides one that still works; then the latest revoked."""
    _require_signed_in(ctx)
    return ApiToken.objects.filter(created_by=ctx.user, org__isnull=True).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"
    )


def revoke_personal_token(ctx: Context, token_id: int) -> ApiToken:
    return _revoke(ctx, list_personal_tokens(ctx), token_id)


# Writing last_used_at on every call would turn each read into a write; minute precision is enough.
_LAST_USED_RESOLUTION_SECONDS = 60


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token for a bearer value, or None. Updates last_used_at (coarsely)."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("org", "created_by")
        .filter(token_hash=_hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or (token.org is not None and token.org.status == OrgStatus.SUSPENDED):
        return None
    if token.created_by is not None and not token.created_by.is_active:
        return None
    if token.org_id is None and token.created_by is None:
        return None  # a personal token whose owner was deleted acts for nobody
    now = clock.now()
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() >= _LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# ---------------------------------------------------------------------------------------------
# Buyers' declared identity
# ---------------------------------------------------------------------------------------------


def buyer_identity(ctx: Context) -> BuyerProfile | None:
    """The caller's own declared identity (decrypted: mask it before display), or None."""
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    return BuyerProfile.objects.filter(user=ctx.user).first()


def update_buyer_identity(
    ctx: Context, *, real_name: str, id_number: str, phone: str
) -> BuyerProfile:
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    errors: list[FieldError] = []
    compact = ""
    try:
        compact = normalize_cn_resident_id(id_number)
    except InvalidNumber as exc:
        errors.append(FieldError(exc.field, str(exc.message), "invalid"))
    if not real_name.strip():
        errors.append(FieldError("real_name", _("Enter your name as on your ID card."), "required"))
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if len(digits.lstrip("+")) < 8:
        errors.append(FieldError("phone", _("Enter a phone number."), "invalid"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        profile, _created = BuyerProfile.objects.select_for_update().get_or_create(user=ctx.user)
        profile.real_name = real_name.strip()
        profile.id_number = compact
        profile.phone = digits
        profile.id_verified = False
        profile.save()
        audit.record(ctx, "buyer.identity_updated", profile)  # values are not copied into the log
    return profile
