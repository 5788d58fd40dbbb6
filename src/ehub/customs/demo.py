"""Demo declarations: synthetic cross-border orders cleared through the sandbox, so the officer
console has work in every lane. Idempotent: nothing is added once the platform has filed."""

from __future__ import annotations

from ehub.catalog.tariff import line_rates
from ehub.core import clock
from ehub.core.context import Context

from . import synthetic
from .batch import clear_batch
from .domain.limits import BEIJING
from .models import Declaration, Enterprise

DEMO_ORDERS = 60
DEMO_SEED = 2017
# A larger spoiled share and inspection rate than the sandbox defaults, so the officer console
# shows refusals and parcels held for inspection.
DEMO_BAD_SHARE = 0.25
DEMO_INSPECTION_RATE = 0.2


def seed(platform_org) -> int:
    """File and clear the demo orders for ``platform_org``; returns how many were declared."""
    if Declaration.objects.filter(filing_org=platform_org).exists():
        return 0
    for code, name in synthetic.REGISTERED:
        Enterprise.objects.get_or_create(code=code, defaults={"name": name})
    rates = line_rates("CN", synthetic.GCODES, clock.now().astimezone(BEIJING).date())
    orders = synthetic.generate(DEMO_ORDERS, seed=DEMO_SEED, rates=rates, bad_share=DEMO_BAD_SHARE)
    ctx = Context(org=platform_org, roles=frozenset({"owner"}), via="cli")
    messages = [m for order in orders for m in order.messages]
    result = clear_batch(
        ctx, messages, goods=synthetic.goods_mapping(), inspection_rate=DEMO_INSPECTION_RATE
    )
    return result.declared
