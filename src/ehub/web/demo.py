"""Demo data: the parties of a small eHub, created idempotently (running twice adds nothing).

Everything here is fictitious. Registration numbers follow the real formats (SSM, USCC) and the
buyers' resident ID numbers carry valid check digits, so the same validation as production applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import BuyerProfile, Membership, Organization, User

DEMO_PASSWORD = "ehub-demo-2026"  # noqa: S105 — printed by `make demo`; demo data only


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    org: str


ORGS = [
    # key, kind, legal name, display name, registration number, country, status
    (
        "platform",
        OrgKind.PLATFORM,
        "eHub Digital Trade Sdn. Bhd.",
        "eHub Operations",
        "201701012345",
        "MY",
        OrgStatus.ACTIVE,
    ),
    (
        "hub",
        OrgKind.HUB_OPERATOR,
        "KLIA Aeropolis eFulfilment Hub Sdn. Bhd.",
        "KLIA Aeropolis eFulfilment Hub",
        "201801004321",
        "MY",
        OrgStatus.ACTIVE,
    ),
    (
        "customs",
        OrgKind.CUSTOMS_AUTHORITY,
        "China Customs (sandbox)",
        "",
        "",
        "CN",
        OrgStatus.ACTIVE,
    ),
    (
        "durian",
        OrgKind.MERCHANT,
        "Raja Musang King Durian Sdn. Bhd.",
        "Raja Musang King",
        "201901012345",
        "MY",
        OrgStatus.ACTIVE,
    ),
    (
        "batik",
        OrgKind.MERCHANT,
        "Rumah Batik Terengganu Sdn. Bhd.",
        "Rumah Batik Terengganu",
        "201501023456",
        "MY",
        OrgStatus.ACTIVE,
    ),
    (
        "nest",
        OrgKind.MERCHANT,
        "Sarang Emas Bird's Nest Sdn. Bhd.",
        "Sarang Emas Bird's Nest",
        "202001034567",
        "MY",
        OrgStatus.ACTIVE,
    ),
    (
        "kopi",
        OrgKind.MERCHANT,
        "Kopi Putih Ipoh Enterprise Sdn. Bhd.",
        "Kopi Putih Ipoh",
        "202301045678",
        "MY",
        OrgStatus.PENDING,
    ),
]

PEOPLE = [
    # email, full name, org key, role, is_staff
    ("ops@ehub.demo", "Nurul Aisyah", "platform", Role.ADMIN, True),
    ("trainer@ehub.demo", "Daniel Lim", "platform", Role.TRAINER, False),
    ("hub@ehub.demo", "Muthu Krishnan", "hub", Role.OPERATOR, False),
    ("customs@ehub.demo", "张敏 Zhang Min", "customs", Role.OFFICER, False),
    ("durian@ehub.demo", "Tan Mei Ling", "durian", Role.OWNER, False),
    ("batik@ehub.demo", "Siti Rahmah", "batik", Role.OWNER, False),
    ("nest@ehub.demo", "Wong Kah Wai", "nest", Role.OWNER, False),
    ("kopi@ehub.demo", "Ahmad Faizal", "kopi", Role.OWNER, False),
]

BUYERS = [
    # email, full name, real name, resident ID (valid check digit), phone
    ("li.wei@buyer.demo", "Li Wei", "李伟", "110101199003071233", "+8613800138000"),
    ("wang.fang@buyer.demo", "Wang Fang", "王芳", "310104198809154566", "+8613900139000"),
]


def _user(email: str, full_name: str, *, is_staff: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email, DEMO_PASSWORD, full_name=full_name, is_staff=is_staff
        )
        if is_staff:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
    return user


@transaction.atomic
def seed(out=print) -> list[DemoLogin]:
    """Create the demo parties, products, Malaysia Week and declarations if missing; return the
    logins."""
    orgs: dict[str, Organization] = {}
    for key, kind, legal, display, reg, country, status in ORGS:
        org = Organization.objects.filter(kind=kind, legal_name=legal).first()
        if org is None:
            org = Organization.objects.create(
                kind=kind,
                legal_name=legal,
                display_name=display,
                registration_number=reg,
                country=country,
                status=status,
            )
        orgs[key] = org

    logins: list[DemoLogin] = []
    for email, name, org_key, role, is_staff in PEOPLE:
        user = _user(email, name, is_staff=is_staff)
        Membership.objects.get_or_create(user=user, org=orgs[org_key], role=role)
        org = orgs[org_key]
        note = " (platform staff)" if is_staff else ""
        if org.status == OrgStatus.PENDING:
            note = " (company waits for approval in /ops/)"
        logins.append(DemoLogin(email, f"{role.label}{note}", org.name))

    for email, name, real_name, id_number, phone in BUYERS:
        user = _user(email, name)
        profile, created = BuyerProfile.objects.get_or_create(user=user)
        if created or not profile.id_number:
            profile.real_name = real_name
            profile.id_number = id_number
            profile.phone = phone
            profile.id_verified = True
            profile.save()
        logins.append(DemoLogin(email, "Buyer (China)", ""))

    # The contexts' own demo data, lowest first: tariff lines, products with stock, campaigns.
    from ehub.academy import demo as academy_demo
    from ehub.campaigns import demo as campaigns_demo
    from ehub.catalog import demo as catalog_demo
    from ehub.catalog.tariff import load_default_tariff
    from ehub.customs import demo as customs_demo
    from ehub.fulfillment import demo as hub_demo
    from ehub.ledger import demo as ledger_demo
    from ehub.orders import demo as orders_demo
    from ehub.payments import demo as payments_demo

    load_default_tariff()
    catalog_demo.seed(orgs)
    ledger_demo.seed(orgs, out=out)
    payments_demo.seed(orgs, out=out)
    hub_demo.seed(orgs, out=out)
    orders_demo.seed(orgs, out=out)
    campaigns_demo.seed(out=out)
    academy_demo.seed(orgs, out=out)
    declared = customs_demo.seed(orgs["platform"])
    if declared:
        out(f"customs demo: {declared} declarations cleared through the sandbox (see /customs/).")
    return logins
