"""Export readiness: how ready a merchant is to sell to China, as a score with visible parts.

The score is made of parts, each with a weight shown to the merchant (they add up to 100):

==================== ====== ======================================================
part                 weight measured by
==================== ====== ======================================================
company_verified         20 the organization is active (platform staff approved it)
products_ready           20 share of the merchant's products with a 6-digit HS code
                            and a Chinese (zh-hans) title (catalog)
stock_in_hub             20 some stock on hand in an eFulfilment hub (catalog inventory)
courses_passed           25 share of the academy's required courses completed by
                            someone of the organization
first_order_shipped      15 a probe registered by a higher context (orders)
==================== ====== ======================================================

Each part is measured by a **probe**: ``fn(org) -> bool | float | None`` (True/1.0 done,
a float for part-done, None for "cannot say"). Academy registers the probes for what it may
read (accounts, catalog, its own courses); a context above it (orders) registers
``first_order_shipped`` in its ``AppConfig.ready`` with :func:`register_probe`. A part whose
probe is missing, or fails, is shown as "not yet measurable" and left out of the score (the
score is the share of the *measurable* weight earned: see ``domain.readiness``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from . import domain

logger = logging.getLogger("ehub.academy")

Probe = Callable[[Any], "bool | float | None"]
_PROBES: dict[str, Probe] = {}


@dataclass(frozen=True)
class PartSpec:
    code: str
    weight: int
    label: Any
    next_step: Any
    url_name: str = ""


PARTS: tuple[PartSpec, ...] = (
    PartSpec(
        "company_verified",
        20,
        _("Company verified"),
        _("Finish your company registration so platform staff can approve it."),
        "web:merchant",
    ),
    PartSpec(
        "products_ready",
        20,
        _("Products with HS codes and Chinese titles"),
        _("Give every product a 6-digit HS code and a Chinese title."),
        "catalog:list",
    ),
    PartSpec(
        "stock_in_hub",
        20,
        _("Stock in the eFulfilment hub"),
        _("Send stock to the eFulfilment hub."),
        "inventory:list",
    ),
    PartSpec(
        "courses_passed",
        25,
        _("Required academy courses passed"),
        _("Complete the academy's required courses."),
        "academy:home",
    ),
    PartSpec(
        "first_order_shipped",
        15,
        _("First order shipped"),
        _("Ship your first order to a buyer in China."),
        "",
    ),
)


def register_probe(name: str, fn: Probe) -> None:
    """Install (or replace) the probe that measures part ``name``."""
    if not callable(fn):
        raise TypeError("a readiness probe must be callable")
    _PROBES[name] = fn


# The name in the cross-context contract.
register = register_probe


def unregister_probe(name: str) -> None:
    _PROBES.pop(name, None)


def probes() -> dict[str, Probe]:
    return dict(_PROBES)


def _url(name: str) -> str:
    if not name:
        return ""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _measure(spec: PartSpec, org) -> float | None:
    probe = _PROBES.get(spec.code)
    if probe is None:
        return None
    try:
        value = probe(org)
    except Exception:  # a broken probe must not break the merchant portal
        logger.exception("readiness probe %s failed", spec.code)
        return None
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return max(0.0, min(1.0, float(value)))


def evaluate(org) -> domain.Readiness:
    """The readiness of ``org`` (a merchant Organization), with every part and the next step."""
    results = []
    for spec in PARTS:
        fraction = _measure(spec, org)
        results.append(
            domain.PartResult(
                code=spec.code,
                weight=spec.weight,
                fraction=fraction,
                label=str(spec.label),
                next_step=str(spec.next_step),
                url=_url(spec.url_name),
            )
        )
    return domain.readiness(results)


# ---------------------------------------------------------------------------------------------
# The probes academy can run itself
# ---------------------------------------------------------------------------------------------


def _company_verified(org) -> bool:
    from ehub.accounts.domain import OrgStatus

    return org.status == OrgStatus.ACTIVE


def _products_ready(org) -> float:
    from ehub.catalog.models import Product, ProductStatus, ProductTranslation

    zh_title = ProductTranslation.objects.filter(
        product=OuterRef("pk"), language="zh-hans"
    ).exclude(title="")
    counts = (
        Product.objects.filter(org=org)
        .exclude(status=ProductStatus.ARCHIVED)
        .annotate(has_zh=Exists(zh_title))
        .aggregate(
            total=Count("pk"),
            ready=Count("pk", filter=Q(has_zh=True) & Q(hs_code__regex=r"^\d{6}$")),
        )
    )
    if not counts["total"]:
        return 0.0
    return counts["ready"] / counts["total"]


def _stock_in_hub(org) -> bool:
    from ehub.accounts.domain import OrgKind
    from ehub.catalog.models import Stock

    return Stock.objects.filter(org=org, on_hand__gt=0, hub__kind=OrgKind.HUB_OPERATOR).exists()


def _courses_passed(org) -> float | None:
    from ehub.accounts.models import Membership

    from .models import Course, CourseStatus, Enrolment

    required = list(
        Course.objects.filter(
            status=CourseStatus.PUBLISHED, required_for_readiness=True
        ).values_list("pk", flat=True)
    )
    if not required:
        return None  # nothing is required: the part cannot be measured
    done = (
        Enrolment.objects.filter(
            course_id__in=required,
            completed_at__isnull=False,
            user_id__in=Membership.objects.filter(org=org).values("user_id"),
        )
        .values("course_id")
        .distinct()
        .count()
    )
    return done / len(required)


register_probe("company_verified", _company_verified)
register_probe("products_ready", _products_ready)
register_probe("stock_in_hub", _stock_in_hub)
register_probe("courses_passed", _courses_passed)
