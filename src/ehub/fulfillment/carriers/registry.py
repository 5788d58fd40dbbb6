"""The carriers the hub ships with, and rate shopping across them.

Two sandbox carriers with different rate cards, so shopping matters: **eHub Express** (two
flights a day, dearer for light parcels, cheaper from about 5 kg, up to 30 kg) and **Economy
Air** (one consolidated evening flight, cheap for light parcels, up to 20 kg, slower).

Their ``logistics_code`` is the 18-character unified social credit code (USCC, with a valid
GB 32100 check character) they are registered under with China customs; the CEB511 waybill
document carries it, so customs' enterprise register must know it (the demo seeds it).

Webhook secrets come from ``settings.EHUB_CARRIER_WEBHOOK_SECRETS`` (``{code: secret}``) when
set, else a fixed sandbox secret.
"""

from __future__ import annotations

from datetime import time
from functools import cache

from django.utils.translation import gettext_lazy as _

from ehub.core.money import Money
from ehub.fulfillment.carriers.base import (
    Carrier,
    Dims,
    NoCarrierAvailable,
    RateQuote,
    RateRequest,
    UnknownCarrier,
)
from ehub.fulfillment.carriers.sandbox import SandboxCarrier
from ehub.fulfillment.carriers.zones import resolve_province

SEED = 2017

CARRIERS = (
    {
        "code": "EHX",
        "name": "eHub Express",
        "service": "express",
        "logistics_code": "91330100MA2EHX0015",
        "logistics_name": "eHub Express Logistics (Sandbox) Co., Ltd.",
        "prefix": "EX",
        "rate_file": "ehub_express.json",
        "cut_offs": (time(14, 0), time(21, 30)),
        "account_number": "EHUB-KUL-0001",
    },
    {
        "code": "ECA",
        "name": "Economy Air",
        "service": "economy",
        "logistics_code": "91440101MA5CNE0029",
        "logistics_name": "Economy Air Cross-border Logistics (Sandbox) Co., Ltd.",
        "prefix": "EA",
        "rate_file": "cainiao_economy.json",
        "cut_offs": (time(18, 0),),
        "account_number": "KUL-ECON-7788",
    },
)


def _secret(code: str) -> str:
    from django.conf import settings

    secrets = getattr(settings, "EHUB_CARRIER_WEBHOOK_SECRETS", None) or {}
    return secrets.get(code) or f"sandbox-{code.lower()}-webhook-secret"


@cache
def _registry() -> dict[str, Carrier]:
    built: dict[str, Carrier] = {}
    for n, spec in enumerate(CARRIERS):
        built[spec["code"]] = SandboxCarrier(
            **spec, seed=SEED + n, webhook_secret=_secret(spec["code"])
        )
    return built


def all_carriers() -> list[Carrier]:
    return list(_registry().values())


def get_carrier(code: str) -> Carrier:
    try:
        return _registry()[code]
    except KeyError:
        raise UnknownCarrier(
            _("Unknown carrier %(code)r.") % {"code": code}, field="carrier"
        ) from None


def shop_rates(
    weight_g: int,
    province: str,
    dims_mm: Dims | None = None,
    *,
    declared_value: Money | None = None,
) -> list[RateQuote]:
    """Every carrier's quote for the parcel, cheapest first (then fastest); [] if none serves."""
    request = RateRequest(weight_g, province, tuple(dims_mm) if dims_mm else None, declared_value)
    quotes = [q for c in all_carriers() if (q := c.rate(request)) is not None]
    return sorted(quotes, key=lambda q: (q.total.amount, q.transit_hours, q.carrier_code))


def cheapest(
    weight_g: int,
    province: str,
    dims_mm: Dims | None = None,
    *,
    declared_value: Money | None = None,
) -> RateQuote:
    """The cheapest quote; DestinationNotServed or NoCarrierAvailable (field "weight_g")."""
    resolve_province(province)  # an unknown province is the clearer error
    quotes = shop_rates(weight_g, province, dims_mm, declared_value=declared_value)
    if not quotes:
        limit = max(c.max_weight_g for c in all_carriers())
        raise NoCarrierAvailable(
            _(
                "No carrier takes a parcel of %(weight)d g to %(province)s "
                "(the chargeable weight counts; the highest limit is %(limit)d g)."
            )
            % {"weight": weight_g, "province": province, "limit": limit},
            field="weight_g",
        )
    return quotes[0]
