"""Pure rules of accounts: org kinds, roles, who enters which portal, registration numbers.

No ORM here: these are checked without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc


class OrgKind(models.TextChoices):
    PLATFORM = "platform", _("Platform operator")
    MERCHANT = "merchant", _("Merchant")
    HUB_OPERATOR = "hub_operator", _("Hub operator")
    CUSTOMS_AUTHORITY = "customs_authority", _("Customs authority")
    LOGISTICS_PROVIDER = "logistics_provider", _("Logistics provider")
    PAYMENT_PROVIDER = "payment_provider", _("Payment provider")


class OrgStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    STAFF = "staff", _("Staff")
    OFFICER = "officer", _("Customs officer")
    OPERATOR = "operator", _("Hub operator")
    TRAINER = "trainer", _("Trainer")


class Portal(models.TextChoices):
    STOREFRONT = "storefront", _("Storefront")
    MERCHANT = "merchant", _("Merchant portal")
    HUB = "hub", _("eFulfilment hub")
    CUSTOMS = "customs", _("Customs")
    ACADEMY = "academy", _("Academy")
    OPS = "ops", _("Operations")


# Which organization kinds may enter each portal (None: anyone, signed in or not).
PORTAL_ORG_KINDS: dict[str, frozenset[str] | None] = {
    Portal.STOREFRONT: None,
    Portal.ACADEMY: None,
    Portal.MERCHANT: frozenset({OrgKind.MERCHANT}),
    Portal.HUB: frozenset({OrgKind.HUB_OPERATOR}),
    Portal.CUSTOMS: frozenset({OrgKind.CUSTOMS_AUTHORITY}),
    Portal.OPS: frozenset({OrgKind.PLATFORM}),
}


def portals_for(org_kinds: set[str] | frozenset[str]) -> list[str]:
    """The portals a user belonging to orgs of these kinds may enter, in navigation order."""
    return [p for p, kinds in PORTAL_ORG_KINDS.items() if kinds is None or kinds & set(org_kinds)]


def home_portal(org_kind: str) -> str | None:
    """The portal reserved for organizations of this kind (None when only public ones)."""
    return next((p for p, kinds in PORTAL_ORG_KINDS.items() if kinds and org_kind in kinds), None)


def may_enter(portal: str, org_kind: str | None) -> bool:
    kinds = PORTAL_ORG_KINDS[portal]
    return kinds is None or (org_kind is not None and org_kind in kinds)


# SSM company number since October 2019 (DOMAIN.md §4): YYYY + entity type 01-06 + 6 digits.
SSM_RE = re.compile(r"^(19|20)\d{2}0[1-6]\d{6}$")


@dataclass(frozen=True)
class InvalidNumber(Exception):
    field: str
    message: str

    def __str__(self) -> str:
        return str(self.message)


def normalize_registration_number(country: str, number: str) -> str:
    """Check and normalise an organization's registration number for its country.

    Malaysia: SSM 12-digit company number. China: unified social credit code (USCC) with its
    check character. Other countries: stored as given (trimmed). Raises InvalidNumber.
    """
    number = (number or "").strip()
    country = (country or "").upper()
    if not number:
        return ""
    if country == "MY":
        compact = re.sub(r"[\s-]", "", number)
        if not SSM_RE.match(compact):
            raise InvalidNumber(
                "registration_number",
                _(
                    "Not a valid SSM company number: 12 digits, "
                    "year + entity type 01–06 + 6 digits."
                ),
            )
        return compact
    if country == "CN":
        try:
            return uscc.validate(number)
        except stdnum_exc.ValidationError as exc:
            raise InvalidNumber(
                "registration_number", _("Not a valid unified social credit code (USCC).")
            ) from exc
    return number


def normalize_cn_resident_id(number: str) -> str:
    """Check an 18-digit Chinese resident ID number (ISO 7064 MOD 11-2 check digit)."""
    try:
        compact = ric.validate(number)
    except stdnum_exc.ValidationError as exc:
        raise InvalidNumber("id_number", _("Not a valid 18-digit resident ID number.")) from exc
    if len(compact) != 18:
        raise InvalidNumber("id_number", _("Not a valid 18-digit resident ID number."))
    return compact
