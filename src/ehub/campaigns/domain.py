"""Pure rules of campaigns: offer pricing, limits, sale windows, buckets, viewer time zones.

No ORM and no I/O here, so every rule is tested without a database (and with hypothesis).
Services call these functions and turn the returned ``FieldError`` lists into
``ValidationFailed``.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from ehub.core.errors import FieldError
from ehub.core.money import Money, Rounding

LANGUAGES = ("en", "ms", "zh-hans")
# Display time zones a buyer may choose; the default follows the language (DESIGN: buyers in
# China see Asia/Shanghai, Malaysians Asia/Kuala_Lumpur).
TIMEZONES = ("Asia/Shanghai", "Asia/Kuala_Lumpur", "UTC")
TIMEZONE_BY_LANGUAGE = {
    "zh-hans": "Asia/Shanghai",
    "en": "Asia/Kuala_Lumpur",
    "ms": "Asia/Kuala_Lumpur",
}
DEFAULT_TIMEZONE = "Asia/Kuala_Lumpur"

MIN_BUCKETS = 1
MAX_BUCKETS = 64
DEFAULT_BUCKETS = 16
MAX_ALLOCATION = 1_000_000
# Percent off is whole or with up to two decimals (12.5 %); a promo needs a real discount.
PERCENT_QUANTUM = Decimal("0.01")


class Phase(enum.StrEnum):
    """Where a time window stands relative to now."""

    UPCOMING = "upcoming"
    LIVE = "live"
    ENDED = "ended"


def phase(now: dt.datetime, starts_at: dt.datetime, ends_at: dt.datetime) -> Phase:
    """``[starts_at, ends_at)``: live from the start instant, ended at the end instant."""
    if now < starts_at:
        return Phase.UPCOMING
    if now < ends_at:
        return Phase.LIVE
    return Phase.ENDED


def _aware(value: dt.datetime | None) -> bool:
    return value is not None and value.tzinfo is not None and value.utcoffset() is not None


def check_campaign_window(
    starts_at: dt.datetime | None, ends_at: dt.datetime | None
) -> list[FieldError]:
    errors = []
    if starts_at is None:
        errors.append(FieldError("starts_at", _("Give the start date and time."), "required"))
    elif not _aware(starts_at):
        errors.append(FieldError("starts_at", _("The start needs a time zone."), "naive"))
    if ends_at is None:
        errors.append(FieldError("ends_at", _("Give the end date and time."), "required"))
    elif not _aware(ends_at):
        errors.append(FieldError("ends_at", _("The end needs a time zone."), "naive"))
    if not errors and ends_at <= starts_at:
        errors.append(FieldError("ends_at", _("The end must be after the start."), "before_start"))
    return errors


@dataclass(frozen=True)
class SaleWindow:
    starts_at: dt.datetime
    ends_at: dt.datetime


def sale_window(
    campaign_starts: dt.datetime,
    campaign_ends: dt.datetime,
    flash_starts: dt.datetime | None = None,
    flash_ends: dt.datetime | None = None,
) -> SaleWindow:
    """When an offer may be claimed: its flash window if it has one, else the campaign's.

    A flash sale with only a start runs until the campaign ends.
    """
    return SaleWindow(flash_starts or campaign_starts, flash_ends or campaign_ends)


def check_flash_window(
    campaign_starts: dt.datetime,
    campaign_ends: dt.datetime,
    flash_starts: dt.datetime | None,
    flash_ends: dt.datetime | None,
) -> list[FieldError]:
    """A flash sale lies inside its campaign; an end without a start is meaningless."""
    errors = []
    if flash_starts is None:
        if flash_ends is not None:
            errors.append(
                FieldError("flash_starts_at", _("Give the flash sale's start too."), "required")
            )
        return errors
    if not _aware(flash_starts):
        return [FieldError("flash_starts_at", _("The start needs a time zone."), "naive")]
    if flash_ends is not None and not _aware(flash_ends):
        return [FieldError("flash_ends_at", _("The end needs a time zone."), "naive")]
    if not campaign_starts <= flash_starts < campaign_ends:
        errors.append(
            FieldError(
                "flash_starts_at",
                _("The flash sale must start within the campaign."),
                "outside_campaign",
            )
        )
    if flash_ends is not None:
        if flash_ends <= flash_starts:
            errors.append(
                FieldError("flash_ends_at", _("The end must be after the start."), "before_start")
            )
        elif flash_ends > campaign_ends:
            errors.append(
                FieldError(
                    "flash_ends_at",
                    _("The flash sale must end by the end of the campaign."),
                    "outside_campaign",
                )
            )
    return errors


def parse_percent(value: str | Decimal | int | None) -> Decimal | None:
    """``"12.5"`` -> Decimal("12.50"); None or blank -> None; anything else raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float | bool):
        raise ValueError("percentages are Decimal, int or str, never float")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    if number != number.quantize(PERCENT_QUANTUM):
        raise ValueError("at most two decimals")
    return number.quantize(PERCENT_QUANTUM)


def promo_price(
    regular: Money,
    *,
    promo: Money | None = None,
    percent_off: Decimal | None = None,
) -> tuple[Money | None, list[FieldError]]:
    """The offer price from a fixed promo price or a percentage off the regular price.

    Exactly one of the two is given. The result is above zero and below the regular price,
    otherwise it is no promotion (or a free giveaway, which is not what an offer is for).
    Percent off rounds half-up to the sen, like every price eHub computes.
    """
    if (promo is None) == (percent_off is None):
        message = _("Give either a promo price or a percentage off, not both.")
        if promo is None:
            message = _("Give a promo price or a percentage off.")
        return None, [FieldError("promo_price", message, "one_of")]
    if percent_off is not None:
        if not Decimal(0) < percent_off < Decimal(100):
            return None, [
                FieldError(
                    "percent_off", _("Enter a percentage above 0 and below 100."), "out_of_range"
                )
            ]
        price = regular.multiply((Decimal(100) - percent_off) / Decimal(100), Rounding.HALF_UP)
        field = "percent_off"
    else:
        if promo.currency != regular.currency:
            return None, [
                FieldError(
                    "promo_price",
                    _("The promo price must be in %(currency)s.") % {"currency": regular.currency},
                    "currency",
                )
            ]
        price, field = promo, "promo_price"
    if price.amount <= 0:
        return None, [FieldError(field, _("The promo price must be above zero."), "not_positive")]
    if price >= regular:
        return None, [
            FieldError(field, _("The promo price must be below the regular price."), "not_lower")
        ]
    return price, []


def check_units(allocated_units: int | None, per_buyer_limit: int | None) -> list[FieldError]:
    errors = []
    if allocated_units is None or allocated_units < 1:
        errors.append(
            FieldError("allocated_units", _("Allocate at least one unit."), "not_positive")
        )
    elif allocated_units > MAX_ALLOCATION:
        errors.append(
            FieldError(
                "allocated_units",
                _("Allocate at most %(max)d units.") % {"max": MAX_ALLOCATION},
                "too_many",
            )
        )
    if per_buyer_limit is None or per_buyer_limit < 1:
        errors.append(
            FieldError("per_buyer_limit", _("The limit per buyer is at least one."), "not_positive")
        )
    elif allocated_units is not None and allocated_units >= 1 and per_buyer_limit > allocated_units:
        errors.append(
            FieldError(
                "per_buyer_limit",
                _("The limit per buyer cannot exceed the allocated units."),
                "above_allocation",
            )
        )
    return errors


def bucket_count_for(allocated_units: int, configured: int = DEFAULT_BUCKETS) -> int:
    """How many buckets to split an allocation into: ``configured``, never more than units."""
    configured = max(MIN_BUCKETS, min(MAX_BUCKETS, configured))
    return max(1, min(configured, allocated_units))


def split_units(units: int, buckets: int) -> list[int]:
    """Spread ``units`` over ``buckets`` as evenly as possible (sizes differ by at most one)."""
    if buckets < 1:
        raise ValueError("at least one bucket")
    if units < 0:
        raise ValueError("units must not be negative")
    base, extra = divmod(units, buckets)
    return [base + (1 if i < extra else 0) for i in range(buckets)]


def probe_order(buckets: int, rng: random.Random | None = None) -> list[int]:
    """Bucket indexes to try: from a random one, wrapping round, so claims spread evenly."""
    start = (rng or random).randrange(buckets)
    return [(start + i) % buckets for i in range(buckets)]


def plan_take(remaining: Sequence[int], qty: int) -> list[tuple[int, int]]:
    """Which (bucket index, units) to take ``qty`` from when no single bucket holds it.

    Fullest buckets first, so a claim touches as few rows as possible. Empty when the total
    is short: the claim must fail as a whole, never be filled in part.
    """
    if qty < 1 or sum(remaining) < qty:
        return []
    plan = []
    need = qty
    for index in sorted(range(len(remaining)), key=lambda i: (-remaining[i], i)):
        if need == 0:
            break
        take = min(remaining[index], need)
        if take:
            plan.append((index, take))
            need -= take
    return plan


def timezone_for(language: str | None, chosen: str | None = None) -> str:
    """The IANA zone to show times in: the viewer's choice, else the language's default."""
    if chosen in TIMEZONES:
        return chosen
    code = (language or "").lower()
    for known, zone in TIMEZONE_BY_LANGUAGE.items():
        if code == known or code.startswith(known + "-"):
            return zone
    return DEFAULT_TIMEZONE


def localized(values: dict[str, str], language: str | None) -> str:
    """The text for ``language`` from ``{"en": …, "ms": …, "zh-hans": …}``, falling back to
    English, then to any non-empty value."""
    code = (language or "en").lower()
    for candidate in (code, code.split("-")[0], "en"):
        if values.get(candidate):
            return values[candidate]
    return next((v for v in values.values() if v), "")
